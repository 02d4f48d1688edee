import { describe, expect, it } from "vitest";
import { appendBody, JSON_HEADERS, makeApp, unreachableLedger, unreachableReader } from "./fixtures.js";

// Every case must be refused at the edge with a 4xx problem and a stable code; the
// ledger and reader throw if reached, and the test also asserts they were never called.

const MAX_EVENTS = 3;
const MAX_BODY = 4096;
const event = { type: "OrderPlaced", data: { total: 1 } };
const nested = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);

interface Case {
  name: string;
  method?: "GET" | "POST";
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  status: number;
  code: string;
  pointer?: string;
}

const cases: Case[] = [
  // Malformed or ambiguous JSON.
  { name: "malformed JSON", body: '{"events": [', status: 400, code: "ERR_INVALID_JSON" },
  { name: "empty body", body: "", status: 400, code: "ERR_INVALID_JSON" },
  { name: "data after the value", body: `${appendBody()} x`, status: 400, code: "ERR_INVALID_JSON" },
  { name: "nesting deeper than the bound", body: appendBody([{ type: "OrderPlaced", data: JSON.parse(nested(40)) }]), status: 400, code: "ERR_INVALID_JSON" },
  { name: "integer outside I-JSON", body: '{"events":[{"type":"OrderPlaced","data":9007199254740993}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "number overflowing to Infinity", body: '{"events":[{"type":"OrderPlaced","data":1e400}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "duplicate top-level keys", body: '{"events":[],"events":[{"type":"OrderPlaced","data":1}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "duplicate keys in data", body: '{"events":[{"type":"OrderPlaced","data":{"a":1,"a":2}}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "__proto__ key", body: '{"events":[{"type":"OrderPlaced","data":{"__proto__":{"admin":true}}}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "lone surrogate", body: '{"events":[{"type":"OrderPlaced","data":"\\ud800"}]}', status: 400, code: "ERR_INVALID_JSON" },
  { name: "invalid UTF-8", body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), status: 400, code: "ERR_INVALID_JSON" },
  // Content type.
  { name: "text/plain body", headers: { "Content-Type": "text/plain" }, body: appendBody(), status: 415, code: "ERR_UNSUPPORTED_MEDIA_TYPE" },
  { name: "no content type", headers: {}, body: appendBody(), status: 415, code: "ERR_UNSUPPORTED_MEDIA_TYPE" },
  { name: "non-UTF-8 charset", headers: { "Content-Type": "application/json; charset=latin1" }, body: appendBody(), status: 415, code: "ERR_UNSUPPORTED_MEDIA_TYPE" },
  { name: "form body", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "events=1", status: 415, code: "ERR_UNSUPPORTED_MEDIA_TYPE" },
  // Stream ids in the path.
  { name: "stream id starting with a dash", path: "/streams/-orders/events", body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "stream id with a space", path: "/streams/a%20b/events", body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "stream id with non-ASCII", path: "/streams/%E2%9C%93/events", body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "stream id too long", path: `/streams/${"a".repeat(201)}/events`, body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "stream id invalid on read", method: "GET", path: "/streams/-x/events", status: 400, code: "ERR_INVALID_INPUT" },
  // Body shape.
  { name: "body is an array", body: "[]", status: 400, code: "ERR_INVALID_INPUT", pointer: "" },
  { name: "body is null", body: "null", status: 400, code: "ERR_INVALID_INPUT", pointer: "" },
  { name: "unknown top-level field", body: appendBody([event], { foo: 1 }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/foo" },
  { name: "misspelt expectedVersion", body: appendBody([event], { expectedVerison: 1 }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVerison" },
  { name: "unknown event field", body: appendBody([event, { ...event, extra: true }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/1/extra" },
  { name: "events missing", body: "{}", status: 400, code: "ERR_INVALID_INPUT", pointer: "/events" },
  { name: "events not an array", body: '{"events":{}}', status: 400, code: "ERR_INVALID_INPUT", pointer: "/events" },
  { name: "empty events", body: appendBody([]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events" },
  { name: "too many events", body: appendBody(Array.from({ length: MAX_EVENTS + 1 }, () => event)), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events" },
  { name: "event not an object", body: appendBody(["OrderPlaced"]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0" },
  { name: "event type missing", body: appendBody([{ data: 1 }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/type" },
  { name: "event type invalid", body: appendBody([{ type: "1Order", data: 1 }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/type" },
  { name: "event type not a string", body: appendBody([{ type: 7, data: 1 }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/type" },
  { name: "data missing", body: appendBody([{ type: "OrderPlaced" }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/data" },
  { name: "metadata an array", body: appendBody([{ ...event, metadata: [] }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/metadata" },
  { name: "metadata null", body: appendBody([{ ...event, metadata: null }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/metadata" },
  { name: "metadata a string", body: appendBody([{ ...event, metadata: "x" }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/metadata" },
  { name: "eventId uppercase", body: appendBody([{ ...event, eventId: "0190A5B2-3C4D-7E8F-9A0B-1C2D3E4F5A6B" }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/eventId" },
  { name: "eventId not a UUID", body: appendBody([{ ...event, eventId: "order-1" }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/0/eventId" },
  { name: "expectedVersion negative", body: appendBody([event], { expectedVersion: -1 }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVersion" },
  { name: "expectedVersion fractional", body: appendBody([event], { expectedVersion: 1.5 }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVersion" },
  { name: "expectedVersion unknown word", body: appendBody([event], { expectedVersion: "latest" }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVersion" },
  { name: "expectedVersion numeric string", body: appendBody([event], { expectedVersion: "3" }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVersion" },
  { name: "eventId repeated within the request", body: appendBody([{ ...event, eventId: "0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b" }, { ...event, eventId: "0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b" }]), status: 400, code: "ERR_INVALID_INPUT", pointer: "/events/1/eventId" },
  { name: "expectedVersion null", body: appendBody([event], { expectedVersion: null }), status: 400, code: "ERR_INVALID_INPUT", pointer: "/expectedVersion" },
  // Size.
  { name: "body over the limit", body: appendBody([{ type: "OrderPlaced", data: "x".repeat(MAX_BODY) }]), status: 413, code: "ERR_PAYLOAD_TOO_LARGE" },
  // Idempotency-Key.
  { name: "Idempotency-Key too long", headers: { ...JSON_HEADERS, "Idempotency-Key": "k".repeat(256) }, body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "Idempotency-Key empty", headers: { ...JSON_HEADERS, "Idempotency-Key": "" }, body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "Idempotency-Key non-ASCII", headers: { ...JSON_HEADERS, "Idempotency-Key": "clé" }, body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  { name: "Idempotency-Key with a tab", headers: { ...JSON_HEADERS, "Idempotency-Key": "a\tb" }, body: appendBody(), status: 400, code: "ERR_INVALID_INPUT" },
  // Query and path parameters.
  ...["0", "-1", "1.5", "abc", "1e3", "", "+5", "1001", "99999999999999999"].map((limit): Case => ({ name: `limit=${limit}`, method: "GET", path: `/events?limit=${limit}`, status: 400, code: "ERR_INVALID_INPUT" })),
  { name: "limit given twice", method: "GET", path: "/events?limit=1&limit=2", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "fromPosition negative", method: "GET", path: "/events?fromPosition=-1", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "fromPosition hex", method: "GET", path: "/events?fromPosition=0x10", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "fromVersion fractional", method: "GET", path: "/streams/orders-1/events?fromVersion=2.5", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "stream read limit over max", method: "GET", path: "/streams/orders-1/events?limit=5000", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "position not a number", method: "GET", path: "/events/abc", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "position negative", method: "GET", path: "/events/-1", status: 400, code: "ERR_INVALID_INPUT" },
  { name: "position fractional", method: "GET", path: "/events/1.5", status: 400, code: "ERR_INVALID_INPUT" },
  // API version.
  { name: "unsupported API version", headers: { ...JSON_HEADERS, "Annal-Api-Version": "2" }, body: appendBody(), status: 400, code: "ERR_API_VERSION" },
];

describe("bad input is refused at the edge", () => {
  it.each(cases)("$name → $status $code", async (testCase) => {
    const ledger = unreachableLedger();
    const reader = unreachableReader();
    const { app } = makeApp({ ledger, reader }, { maxEventsPerAppend: MAX_EVENTS, maxBodyBytes: MAX_BODY });
    const method = testCase.method ?? "POST";
    const init: RequestInit = { method, headers: testCase.headers ?? JSON_HEADERS };
    if (method === "POST") init.body = testCase.body ?? appendBody();
    const response = await app.request(testCase.path ?? "/streams/orders-1/events", init);

    expect(response.status).toBe(testCase.status);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: testCase.status, code: testCase.code });
    if (testCase.pointer !== undefined) expect(problem["pointer"]).toBe(testCase.pointer);
    expect(ledger.append).not.toHaveBeenCalled();
    for (const method of Object.values(reader)) expect(method).not.toHaveBeenCalled();
  });

  it("refuses an oversized chunked body while streaming, without reading it all", async () => {
    const ledger = unreachableLedger();
    const { app } = makeApp({ ledger }, { maxBodyBytes: MAX_BODY });
    const chunk = new TextEncoder().encode(" ".repeat(1024));
    let pulled = 0;
    // 10 MiB offered, no Content-Length: only the streaming check can stop it.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 10 * 1024 * 1024) return controller.close();
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await app.request("/streams/orders-1/events", { method: "POST", headers: JSON_HEADERS, body, duplex: "half" } as RequestInit);

    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe("ERR_PAYLOAD_TOO_LARGE");
    expect(pulled).toBeLessThan(MAX_BODY + 8 * chunk.length);
    expect(ledger.append).not.toHaveBeenCalled();
  });

  it("refuses a declared Content-Length over the limit before reading the body", async () => {
    const ledger = unreachableLedger();
    const { app } = makeApp({ ledger }, { maxBodyBytes: MAX_BODY });
    const response = await app.request("/streams/orders-1/events", {
      method: "POST",
      headers: { ...JSON_HEADERS, "Content-Length": String(MAX_BODY + 1) },
      body: "x".repeat(MAX_BODY + 1),
    });
    expect(response.status).toBe(413);
    expect(ledger.append).not.toHaveBeenCalled();
  });

  it("accepts nesting exactly at the configured bound", async () => {
    // The envelope {"events":[{"data": …}]} uses 3 levels; 29 more reach the default 32.
    const ledger = unreachableLedger();
    const { app } = makeApp({ ledger });
    const response = await app.request("/streams/orders-1/events", { method: "POST", headers: JSON_HEADERS, body: appendBody([{ type: "OrderPlaced", data: JSON.parse(nested(29)) }]) });
    // Validation passed, so the unreachable ledger was reached: proof the bound is not off by one.
    expect(ledger.append).toHaveBeenCalledOnce();
    expect(response.status).toBe(500);
  });
});
