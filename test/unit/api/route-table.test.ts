import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createRoutes, PERMISSIONS } from "../../../src/api/routes.js";
import { resolveApiOptions } from "../../../src/api/context.js";
import { unreachableLedger, unreachableProofs, unreachableReader } from "./fixtures.js";

const routes = createRoutes(
  { ledger: unreachableLedger(), reader: unreachableReader(), proofs: unreachableProofs(), ready: () => Promise.resolve(true), logger: pino({ level: "silent" }), metrics: new Registry() },
  resolveApiOptions(),
);

describe("route table", () => {
  // The auth layer will enforce these; a route without one would be reachable by anyone.
  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))("%s declares a known permission", (_name, route) => {
    expect(typeof route.permission).toBe("string");
    expect(PERMISSIONS).toContain(route.permission);
  });

  it("has no route twice", () => {
    const keys = routes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps writes and ledger reads behind non-public permissions", () => {
    const publicRoutes = routes.filter((route) => route.permission === "public").map((route) => `${route.method} ${route.path}`);
    expect(publicRoutes.sort()).toEqual(["GET /docs", "GET /healthz", "GET /keys", "GET /openapi.json", "GET /readyz"]);
  });
});
