import { describe, expect, it } from "vitest";
import { makeApp } from "./fixtures.js";

describe("Annal-Api-Version negotiation", () => {
  it("answers the latest version when the header is absent", async () => {
    const { app } = makeApp();
    const response = await app.request("/healthz");
    expect(response.status).toBe(200);
    expect(response.headers.get("annal-api-version")).toBe("1");
    expect(response.headers.get("vary")).toContain("Annal-Api-Version");
  });

  it("echoes a supported version", async () => {
    const { app } = makeApp();
    const response = await app.request("/healthz", { headers: { "Annal-Api-Version": "1" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("annal-api-version")).toBe("1");
  });

  it.each(["2", "0", "1.0", "v1", "latest", ""])("refuses version %j with 400 listing the supported ones", async (version) => {
    const { app } = makeApp();
    const response = await app.request("/healthz", { headers: { "Annal-Api-Version": version } });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("annal-api-version")).toBe("1");
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: "ERR_API_VERSION", status: 400, supported: ["1"], type: "https://annal.dev/problems/api-version" });
  });

  it("echoes the version on errors too", async () => {
    const { app } = makeApp();
    const notFound = await app.request("/nope", { headers: { "Annal-Api-Version": "1" } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("annal-api-version")).toBe("1");
    const failed = await app.request("/events/1");
    expect(failed.status).toBe(500);
    expect(failed.headers.get("annal-api-version")).toBe("1");
  });
});

describe("X-Request-Id", () => {
  it("echoes a well-formed request id and generates one otherwise", async () => {
    const { app } = makeApp();
    const echoed = await app.request("/healthz", { headers: { "X-Request-Id": "req-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-123");
    const generated = await app.request("/healthz", { headers: { "X-Request-Id": "bad id with spaces" } });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("deprecated API versions", () => {
  const policy = {
    supported: ["1", "2"],
    deprecated: { "1": { deprecatedAt: new Date("2025-01-01T00:00:00Z"), sunsetAt: new Date("2025-07-01T00:00:00Z"), link: "https://annal.dev/docs/api#versions" } },
  };

  it("serves a deprecated version with Deprecation, Sunset and Link headers", async () => {
    const { app } = makeApp({}, { apiVersions: policy });
    const response = await app.request("/healthz", { headers: { "Annal-Api-Version": "1" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("annal-api-version")).toBe("1");
    expect(response.headers.get("deprecation")).toBe("@1735689600");
    expect(response.headers.get("sunset")).toBe("Tue, 01 Jul 2025 00:00:00 GMT");
    expect(response.headers.get("link")).toBe('<https://annal.dev/docs/api#versions>; rel="deprecation"');
  });

  it("gives a request without the header the newest version that is not deprecated, without deprecation headers", async () => {
    const { app } = makeApp({}, { apiVersions: policy });
    const response = await app.request("/healthz");
    expect(response.headers.get("annal-api-version")).toBe("2");
    expect(response.headers.get("deprecation")).toBeNull();
    expect(response.headers.get("sunset")).toBeNull();
  });

  it("refuses a policy that deprecates a version it does not support", () => {
    expect(() => makeApp({}, { apiVersions: { supported: ["2"], deprecated: { "1": { deprecatedAt: new Date(0) } } } })).toThrow(/not in the supported list/);
  });
});
