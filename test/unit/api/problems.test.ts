import { describe, expect, it, vi } from "vitest";
import { LedgerError, type LedgerErrorCode } from "../../../src/core/index.js";
import { PROBLEMS } from "../../../src/api/problems.js";
import { appendBody, capturingLogger, JSON_HEADERS, makeApp } from "./fixtures.js";

function failingLedger(error: Error) {
  return { append: vi.fn(() => Promise.reject(error)), close: vi.fn(() => Promise.resolve()) };
}

async function appendThrough(error: Error, headers: Record<string, string> = {}) {
  const { logger, lines } = capturingLogger();
  const { app } = makeApp({ ledger: failingLedger(error), logger });
  const response = await app.request("/streams/orders-1/events", { method: "POST", headers: { ...JSON_HEADERS, ...headers }, body: appendBody() });
  return { response, problem: (await response.json()) as Record<string, unknown>, lines };
}

describe("problem+json rendering", () => {
  it("renders the RFC 9457 members, the code, the request id and details as extensions", async () => {
    const error = new LedgerError("ERR_EXPECTED_VERSION", "stream orders-1 is at version 4, expected 2", { details: { expectedVersion: 2, actualVersion: 4 } });
    const { response, problem } = await appendThrough(error, { "X-Request-Id": "req-409" });
    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("x-request-id")).toBe("req-409");
    expect(problem).toEqual({
      type: "https://annal.dev/problems/expected-version",
      title: PROBLEMS.ERR_EXPECTED_VERSION.title,
      status: 409,
      detail: error.message,
      code: "ERR_EXPECTED_VERSION",
      instance: "/streams/orders-1/events",
      requestId: "req-409",
      expectedVersion: 2,
      actualVersion: 4,
    });
  });

  it("never lets details override the standard members", async () => {
    const error = new LedgerError("ERR_NOT_FOUND", "gone", { details: { status: 200, code: "OK", type: "x", requestId: "forged" } });
    const { response, problem } = await appendThrough(error, { "X-Request-Id": "real" });
    expect(response.status).toBe(404);
    expect(problem).toMatchObject({ status: 404, code: "ERR_NOT_FOUND", type: "https://annal.dev/problems/not-found", requestId: "real" });
  });

  it.each([
    ["ERR_EXPECTED_VERSION", 409],
    ["ERR_IDEMPOTENCY_KEY_REUSED", 422],
    ["ERR_IDEMPOTENCY_IN_FLIGHT", 409],
    ["ERR_DUPLICATE_EVENT", 409],
    ["ERR_OVERLOADED", 503],
    ["ERR_UNAVAILABLE", 503],
    ["ERR_NOT_FOUND", 404],
    ["ERR_INVALID_INPUT", 400],
    ["ERR_INVALID_JSON", 400],
    ["ERR_CHAIN_BROKEN", 500],
    ["ERR_INTERNAL", 500],
  ] as [LedgerErrorCode, number][])("maps %s to %i", async (code, status) => {
    const { response, problem } = await appendThrough(new LedgerError(code, "from the ledger"));
    expect(response.status).toBe(status);
    expect(problem).toMatchObject({ code, status });
  });

  it("answers 503 with Retry-After, honouring a hint from the ledger", async () => {
    const plain = await appendThrough(new LedgerError("ERR_OVERLOADED", "queue full", { retriable: true }));
    expect(plain.response.status).toBe(503);
    expect(plain.response.headers.get("retry-after")).toBe("1");
    const hinted = await appendThrough(new LedgerError("ERR_OVERLOADED", "queue full", { details: { retryAfterSeconds: 7 } }));
    expect(hinted.response.headers.get("retry-after")).toBe("7");
    const unavailable = await appendThrough(new LedgerError("ERR_UNAVAILABLE", "database down"));
    expect(unavailable.response.headers.get("retry-after")).toBe("1");
  });

  it("hides the detail of 5xx from the client and logs it with the request id", async () => {
    const { response, problem, lines } = await appendThrough(new Error("connection to 10.0.0.5:5432 refused; password=hunter2"), { "X-Request-Id": "req-500" });
    expect(response.status).toBe(500);
    expect(problem).toMatchObject({ code: "ERR_INTERNAL", status: 500, requestId: "req-500" });
    expect(JSON.stringify(problem)).not.toContain("10.0.0.5");
    const logged = lines.find((line) => line["msg"] === "request failed");
    expect(logged).toMatchObject({ requestId: "req-500", code: "ERR_INTERNAL", level: 50 });
    expect(JSON.stringify(logged)).toContain("10.0.0.5");
  });

  it("keeps 5xx details out of the body", async () => {
    const { problem } = await appendThrough(new LedgerError("ERR_CHAIN_BROKEN", "broken at 12", { details: { position: 12 } }));
    expect(problem).not.toHaveProperty("position");
  });

  it("answers unknown routes with a 404 problem", async () => {
    const { app } = makeApp();
    const response = await app.request("/no/such/route");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "ERR_NOT_FOUND", status: 404, instance: "/no/such/route" });
  });

  it.each([
    ["DELETE", "/streams/orders-1/events", "GET, HEAD, POST"],
    ["PUT", "/events/3", "GET, HEAD"],
    ["POST", "/checkpoints/latest", "GET, HEAD"],
    ["POST", "/healthz", "GET, HEAD"],
  ])("answers %s %s with 405 and Allow", async (method, path, allow) => {
    const { app } = makeApp();
    const response = await app.request(path, { method, headers: JSON_HEADERS, body: method === "DELETE" ? null : "{}" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")?.split(", ").sort().join(", ")).toBe(allow);
    expect(await response.json()).toMatchObject({ code: "ERR_METHOD_NOT_ALLOWED", status: 405 });
  });

  it("has a problem type for every error code", () => {
    for (const [code, problem] of Object.entries(PROBLEMS)) {
      expect(problem.status, code).toBeGreaterThanOrEqual(400);
      expect(problem.slug, code).toMatch(/^[a-z-]+$/);
    }
  });
});
