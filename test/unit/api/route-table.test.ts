import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createRouteTable } from "../../../src/api/admin-routes.js";
import { createApp } from "../../../src/api/index.js";
import { PERMISSIONS } from "../../../src/api/routes.js";
import { resolveApiOptions } from "../../../src/api/context.js";
import { createOidcAccessControl, createTokenVerifier, DEFAULT_POLICY } from "../../../src/auth/index.js";
import { appendBody, JSON_HEADERS, unreachableLedger, unreachableProofs, unreachableReader } from "./fixtures.js";

const deps = {
  ledger: unreachableLedger(),
  reader: unreachableReader(),
  proofs: unreachableProofs(),
  ready: () => Promise.resolve(true),
  logger: pino({ level: "silent" }),
  metrics: new Registry(),
  // Auth on, against an issuer nobody can reach: a request without a token must be
  // refused before any verification (or handler) runs.
  access: createOidcAccessControl({ verifier: createTokenVerifier({ fetch: () => Promise.reject(new Error("must not be reached")) }, { issuer: "https://issuer.invalid", audience: "urn:annal:api" }) }, { policy: DEFAULT_POLICY, rolesClaim: "roles" }),
};
const routes = createRouteTable(deps, resolveApiOptions());

/** A concrete request path for a route pattern: every parameter gets a harmless value. */
export function concretePath(pattern: string, streamId = "orders-1"): string {
  return pattern.replace(/:streamId/g, streamId).replace(/:[A-Za-z0-9_]+/g, "1");
}

describe("route table", () => {
  // The authorize middleware enforces these; a route without one is refused for everyone.
  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))("%s declares a known permission", (_name, route) => {
    expect(typeof route.permission).toBe("string");
    expect(PERMISSIONS).toContain(route.permission);
  });

  it("has no route twice", () => {
    const keys = routes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps writes, ledger reads and admin behind non-public permissions", () => {
    const publicRoutes = routes.filter((route) => route.permission === "public").map((route) => `${route.method} ${route.path}`);
    expect(publicRoutes.sort()).toEqual(["GET /docs", "GET /docs/assets/:file", "GET /healthz", "GET /keys", "GET /openapi.json", "GET /readyz"]);
    expect(routes.find((route) => route.path === "/admin/config")?.permission).toBe("admin:*");
  });

  const app = createApp(deps);
  it.each(routes.filter((r) => r.permission !== "public").map((route) => [`${route.method} ${route.path}`, route] as const))(
    "%s answers 401 with a Bearer challenge and no error code when no token is sent",
    async (_name, route) => {
      const response = await app.request(concretePath(route.path), { method: route.method, ...(route.method === "POST" ? { headers: JSON_HEADERS, body: appendBody() } : {}) });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="annal"');
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({ code: "ERR_UNAUTHENTICATED", status: 401 });
      expect(deps.ledger.append).not.toHaveBeenCalled();
    },
  );

  it("treats another Authorization scheme as no token", async () => {
    const response = await app.request("/events", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="annal"');
  });
});
