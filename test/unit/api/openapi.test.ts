import { describe, expect, it } from "vitest";
import { openApiPath } from "../../../src/api/routes.js";
import { createRouteTable } from "../../../src/api/admin-routes.js";
import { resolveApiOptions } from "../../../src/api/context.js";
import { PROBLEMS } from "../../../src/api/problems.js";
import { makeApp, unreachableLedger, unreachableProofs, unreachableReader } from "./fixtures.js";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createAuthOff } from "../../../src/auth/index.js";

type Operation = { operationId?: string; "x-permission"?: string; responses?: Record<string, unknown> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

async function fetchDocument(): Promise<Document> {
  const { app } = makeApp();
  const response = await app.request("/openapi.json");
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

// The whole table (admin and projection routes too): every route the app serves is documented.
const routes = createRouteTable(
  { ledger: unreachableLedger(), reader: unreachableReader(), proofs: unreachableProofs(), ready: () => Promise.resolve(true), logger: pino({ level: "silent" }), metrics: new Registry(), access: createAuthOff() },
  resolveApiOptions(),
);

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1", async () => {
    expect((await fetchDocument()).openapi).toBe("3.1.0");
  });

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))("describes %s with its permission", async (_name, route) => {
    const document = await fetchDocument();
    const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
    expect(operation, `${route.method} ${route.path} missing from openapi.json`).toBeDefined();
    expect(operation?.["x-permission"]).toBe(route.permission);
    expect(operation?.operationId).toMatch(/^[a-zA-Z]+$/);
  });

  it("describes no operation the app does not serve", async () => {
    const served = new Set(routes.map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`));
    const documented = Object.entries((await fetchDocument()).paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual([...served].sort());
  });

  it("resolves every schema reference", async () => {
    const document = await fetchDocument();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(document.components.schemas, name).toHaveProperty(name);
  });

  it("lists every problem code", async () => {
    const problem = (await fetchDocument()).components.schemas["Problem"] as { properties: { code: { enum: string[] } } };
    expect(problem.properties.code.enum.sort()).toEqual(Object.keys(PROBLEMS).sort());
  });
});

describe("API reference page", () => {
  it("renders every operation from the document and loads nothing from the network", async () => {
    const { app } = makeApp();
    const response = await app.request("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await response.text();
    for (const route of routes) expect(html).toContain(`<code>${openApiPath(route.path)}</code>`);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
