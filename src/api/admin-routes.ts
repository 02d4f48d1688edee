import type { ApiDeps, ResolvedApiOptions } from "./context.js";
import { createProjectionRoutes } from "./projection-routes.js";
import { createRoutes, type RouteDefinition } from "./routes.js";

/** Operator routes. All need `admin:*` on all streams. */
export function createAdminRoutes(deps: ApiDeps): RouteDefinition[] {
  return [
    {
      method: "GET",
      path: "/admin/config",
      permission: "admin:*",
      acceptsBody: false,
      // The effective configuration, secrets masked by the composition root (maskedConfig):
      // what an operator needs to tell which issuer, policy and database a pod really uses.
      handler: (c) => c.json({ config: deps.effectiveConfig?.() ?? {}, auth: deps.access.mode }),
    },
  ];
}

/** Every route the app serves: the RBAC middleware, the route-table test and the app read this one list. */
export function createRouteTable(deps: ApiDeps, options: ResolvedApiOptions): RouteDefinition[] {
  return [...createRoutes(deps, options), ...createAdminRoutes(deps), ...createProjectionRoutes(deps, options)];
}
