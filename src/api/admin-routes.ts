import type { ApiDeps, ResolvedApiOptions } from "./context.js";
import { createDocsRoutes } from "./docs-routes.js";
import { createKeyRoutes } from "./key-routes.js";
import { createProjectionRoutes } from "./projection-routes.js";
import { createRedactionRoutes } from "./redaction-routes.js";
import { defineRoute, type RouteDefinition } from "./route-definition.js";
import { createRoutes } from "./routes.js";
import { AnyObject } from "./schemas.js";
import { Type } from "@sinclair/typebox";

/** Operator routes. All need `admin:*` on all streams. */
export function createAdminRoutes(deps: ApiDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      path: "/admin/config",
      permission: "admin:*",
      operationId: "getConfig",
      tags: ["admin"],
      summary: "The effective configuration, secrets masked",
      description: "Secrets masked. What an operator needs to tell which issuer, policy and database a pod really uses.",
      responses: {
        200: { description: "The configuration.", content: { "application/json": Type.Object({ config: AnyObject, auth: Type.Union([Type.Literal("oidc"), Type.Literal("off")]) }, { additionalProperties: false }) } },
      },
      // Masked by the composition root (maskedConfig).
      handle: (c) => c.json({ config: deps.effectiveConfig?.() ?? {}, auth: deps.access.mode }),
    }),
  ];
}

/**
 * Every route the app serves: the RBAC middleware, the OpenAPI document, the route-table
 * test and the app read this one list. A route added here is documented by its definition.
 */
export function createRouteTable(deps: ApiDeps, options: ResolvedApiOptions): RouteDefinition[] {
  const table: RouteDefinition[] = [...createRoutes(deps, options), ...createAdminRoutes(deps), ...createProjectionRoutes(deps, options), ...createRedactionRoutes(deps), ...createKeyRoutes(deps)];
  table.push(...createDocsRoutes(() => table, { ...options, identityProviderPath: deps.identityProvider?.mountPath }));
  return table;
}
