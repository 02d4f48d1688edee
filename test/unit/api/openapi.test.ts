import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createRouteTable } from "../../../src/api/admin-routes.js";
import { resolveApiOptions } from "../../../src/api/context.js";
import { PROBLEMS } from "../../../src/api/problems.js";
import { openApiPath } from "../../../src/api/routes.js";
import { createAuthOff } from "../../../src/auth/index.js";
import { makeApp, unreachableLedger, unreachableProofs, unreachableReader } from "./fixtures.js";

type Parameter = { name?: string; in?: string; schema?: { type?: string; maximum?: number }; $ref?: string };
type Operation = { operationId?: string; "x-permission"?: string; parameters?: Parameter[]; requestBody?: unknown; responses?: Record<string, { content?: Record<string, unknown> }> };
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
};

async function fetchDocument(deps: Parameters<typeof makeApp>[0] = {}): Promise<Document> {
  const { app } = makeApp(deps);
  const response = await app.request("/openapi.json");
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

const routes = createRouteTable(
  { ledger: unreachableLedger(), reader: unreachableReader(), proofs: unreachableProofs(), ready: () => Promise.resolve(true), logger: pino({ level: "silent" }), metrics: new Registry(), access: createAuthOff() },
  resolveApiOptions(),
);
const operations = (document: Document) => Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1", async () => {
    expect((await fetchDocument()).openapi).toBe("3.1.0");
  });

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))("documents %s, with its permission", async (_name, route) => {
    const document = await fetchDocument();
    const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
    expect(operation, `${route.method} ${route.path} is in the route table but not in openapi.json`).toBeDefined();
    expect(operation?.["x-permission"]).toBe(route.permission);
    expect(operation?.operationId).toMatch(/^[a-zA-Z]+$/);
    expect(Object.keys(operation?.responses ?? {}).some((status) => status.startsWith("2"))).toBe(true);
  });

  it("describes no operation the app does not serve, and operation ids are unique", async () => {
    const document = await fetchDocument();
    const served = new Set(routes.map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`));
    expect(operations(document).map((o) => `${o.method} ${o.path}`).sort()).toEqual([...served].sort());
    const ids = operations(document).map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lists the append first: it is the main job", async () => {
    expect(operations(await fetchDocument())[0]).toMatchObject({ method: "post", path: "/streams/{streamId}/events" });
  });

  it("documents on every operation the 400 of an unsupported Annal-Api-Version, and 500 and 503", async () => {
    for (const { path, method, operation } of operations(await fetchDocument())) {
      expect(operation.parameters, `${method} ${path}`).toContainEqual({ $ref: "#/components/parameters/ApiVersion" });
      for (const status of ["400", "500", "503"]) expect(operation.responses, `${method} ${path} ${status}`).toHaveProperty(status);
      if (operation["x-permission"] !== "public") for (const status of ["401", "403"]) expect(operation.responses, `${method} ${path} ${status}`).toHaveProperty(status);
    }
  });

  it("bounds every integer parameter at 2^53-1 or below, as the server does", async () => {
    const integers = operations(await fetchDocument()).flatMap(({ operation }) => (operation.parameters ?? []).filter((p) => p.schema?.type === "integer"));
    expect(integers.map((p) => p.name).sort()).toEqual(["from", "fromPosition", "fromTreeSize", "fromVersion", "limit", "limit", "limit", "limit", "minPosition", "position", "position", "position", "position", "to", "treeSize", "treeSize"].sort());
    for (const p of integers) expect(p.schema?.maximum, p.name).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it("publishes the very schema that validates appends, and says event ids must be unique", async () => {
    const document = await fetchDocument();
    const append = routes.find((r) => r.operationId === "appendEvents")!;
    const { $id: _id, ...published } = JSON.parse(JSON.stringify(append.request.body)) as Record<string, unknown>;
    const events = (published["properties"] as { events: { items: unknown; description: string } }).events;
    events.items = { $ref: "#/components/schemas/AppendEvent" };
    (published["properties"] as Record<string, unknown>)["expectedVersion"] = { $ref: "#/components/schemas/ExpectedVersion" };
    expect(document.components.schemas["AppendRequest"]).toEqual(published);
    expect(events.description).toMatch(/eventId/);
  });

  it("resolves every schema reference", async () => {
    const document = await fetchDocument();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(document.components.schemas, name).toHaveProperty(name);
    expect(JSON.stringify(document)).not.toContain('"$id"');
  });

  it("lists every problem code", async () => {
    const problem = (await fetchDocument()).components.schemas["Problem"] as { properties: { code: { enum: string[] } } };
    expect(problem.properties.code.enum.sort()).toEqual(Object.keys(PROBLEMS).sort());
  });

  it("offers the development issuer's client-credentials flow when it runs", async () => {
    expect((await fetchDocument()).components.securitySchemes).not.toHaveProperty("devIssuer");
    const withIssuer = await fetchDocument({ identityProvider: { mountPath: "/oidc", handle: () => undefined } });
    expect(withIssuer.components.securitySchemes["devIssuer"]).toMatchObject({ type: "oauth2", flows: { clientCredentials: { tokenUrl: "/oidc/token" } } });
  });
});

describe("API reference page", () => {
  it("serves Swagger UI from the package itself, under a CSP that allows only this origin", async () => {
    const { app } = makeApp();
    const response = await app.request("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self';");
    const html = await response.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const scripts = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.sort()).toEqual(["docs/assets/favicon-32x32.png", "docs/assets/init.js", "docs/assets/swagger-ui-bundle.js", "docs/assets/swagger-ui.css"]);
    for (const asset of scripts) {
      const file = await app.request(`/${asset}`);
      expect([asset, file.status]).toEqual([asset, 200]);
      expect((await file.text()).length).toBeGreaterThan(10);
    }
    expect((await app.request("/docs/assets/missing.js")).status).toBe(404);
  });
});
