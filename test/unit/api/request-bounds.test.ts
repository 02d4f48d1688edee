import { describe, expect, it } from "vitest";
import type { LedgerReader } from "../../../src/ledger/types.js";
import { appendBody, JSON_HEADERS, makeApp, memoryReader } from "./fixtures.js";

// A dependency that never answers must still get the client an answer: 503 with
// Retry-After, and for a write the code that says its outcome is unknown.
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe("request bounds", () => {
  it("given a read whose database never answers, answers 503 ERR_UNAVAILABLE with Retry-After within the bound", async () => {
    const reader: LedgerReader = { ...memoryReader([]), readAll: () => never() };
    const { app } = makeApp({ reader }, { requestTimeoutMs: 1000 });
    const response = await app.request("/events");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ code: "ERR_UNAVAILABLE" });
  });

  it("given an append that never settles, answers 503 ERR_OUTCOME_UNKNOWN: it may have been written", async () => {
    const { app } = makeApp({ ledger: { append: () => never(), close: () => Promise.resolve() } }, { requestTimeoutMs: 1000 });
    const response = await app.request("/streams/s/events", { method: "POST", headers: JSON_HEADERS, body: appendBody() });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ code: "ERR_OUTCOME_UNKNOWN", type: "https://annal.dev/problems/outcome-unknown" });
  });

  it("given a read that fails on the connection, answers 503 ERR_UNAVAILABLE, not 500", async () => {
    for (const message of ["Connection terminated unexpectedly", "Query read timeout", "timeout exceeded when trying to connect"]) {
      const reader: LedgerReader = { ...memoryReader([]), readAll: () => Promise.reject(new Error(message)) };
      const { app } = makeApp({ reader });
      const response = await app.request("/events");
      expect([message, response.status]).toEqual([message, 503]);
      expect(await response.json()).toMatchObject({ code: "ERR_UNAVAILABLE" });
    }
  });
});
