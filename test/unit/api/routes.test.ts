import { describe, expect, it, vi } from "vitest";
import { Registry } from "prom-client";
import type { AppendRequest } from "../../../src/ledger/types.js";
import { appendBody, CHECKPOINT, JSON_HEADERS, KEY, makeApp, memoryReader, receiptFor, record } from "./fixtures.js";

describe("POST /streams/{streamId}/events", () => {
  it("passes a validated request to the ledger and answers 201 with exactly the receipt", async () => {
    const receipt = receiptFor("orders-1", 2, 41);
    // An extra member from an adapter must not reach the wire.
    const append = vi.fn((_request: AppendRequest) => Promise.resolve({ ...receipt, internal: "x" }));
    const { app } = makeApp({ ledger: { append, close: () => Promise.resolve() } });
    const events = [
      { type: "OrderPlaced", data: { total: 1 }, metadata: { actor: "u1" }, eventId: "0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b" },
      { type: "OrderPaid", data: null },
    ];
    const response = await app.request("/streams/orders-1/events", {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "order 1/attempt" },
      body: appendBody(events, { expectedVersion: "no_stream" }),
    });

    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe("/events/41");
    expect(await response.json()).toEqual(receipt);
    expect(append).toHaveBeenCalledWith({
      streamId: "orders-1",
      events,
      expectedVersion: "no_stream",
      idempotencyKey: "order 1/attempt",
      principal: "anonymous",
    });
  });

  it.each(["any", "no_stream", "stream_exists", 0, 7])("accepts expectedVersion %j", async (expectedVersion) => {
    const append = vi.fn((_request: AppendRequest) => Promise.resolve(receiptFor("s", 1)));
    const { app } = makeApp({ ledger: { append, close: () => Promise.resolve() } });
    const response = await app.request("/streams/s/events", { method: "POST", headers: JSON_HEADERS, body: appendBody(undefined, { expectedVersion }) });
    expect(response.status).toBe(201);
    expect(append.mock.calls[0]?.[0].expectedVersion).toBe(expectedVersion);
  });
});

describe("reads", () => {
  const records = [record(1, "orders-1", 1), record(2, "orders-2", 1), record(3, "orders-1", 2)];

  it("reads a stream from a version", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    const response = await app.request("/streams/orders-1/events?fromVersion=2&limit=10");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ streamId: "orders-1", events: [records[2]] });
  });

  it("answers 404 for a stream with no events, 200 and none past the end of one that exists", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    const unknown = await app.request("/streams/orders-9/events");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "ERR_NOT_FOUND", streamId: "orders-9" });
    const pastEnd = await app.request("/streams/orders-1/events?fromVersion=5");
    expect(pastEnd.status).toBe(200);
    expect(await pastEnd.json()).toEqual({ streamId: "orders-1", events: [] });
  });

  it("reads the global log with the next position to ask for", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    const page = await app.request("/events?fromPosition=1&limit=2");
    expect(await page.json()).toEqual({ events: [records[0], records[1]], nextPosition: 3 });
    const caughtUp = await app.request("/events?fromPosition=4");
    expect(await caughtUp.json()).toEqual({ events: [], nextPosition: 4 });
  });

  it("reads one event, 404 when there is none", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    const found = await app.request("/events/3");
    expect(found.status).toBe(200);
    expect(await found.json()).toEqual(records[2]);
    const missing = await app.request("/events/99");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "ERR_NOT_FOUND" });
  });

  it("serves the latest checkpoint as JSON or as the signed note", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    const json = await app.request("/checkpoints/latest");
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json.json()).toEqual(CHECKPOINT);
    const text = await app.request("/checkpoints/latest", { headers: { Accept: "text/plain" } });
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await text.text()).toBe(CHECKPOINT.note);
  });

  it("answers 404 before the first checkpoint", async () => {
    const { app } = makeApp({ reader: memoryReader([], null) });
    const response = await app.request("/checkpoints/latest");
    expect(response.status).toBe(404);
  });

  it("lists public keys", async () => {
    const { app } = makeApp({ reader: memoryReader(records) });
    expect(await (await app.request("/keys")).json()).toEqual({ keys: [KEY] });
  });
});

describe("operations endpoints", () => {
  it("healthz answers without touching dependencies", async () => {
    const ready = vi.fn(() => Promise.resolve(false));
    const { app } = makeApp({ ready });
    expect((await app.request("/healthz")).status).toBe(200);
    expect(ready).not.toHaveBeenCalled();
  });

  it.each([
    ["ready", () => Promise.resolve(true), 200],
    ["not ready", () => Promise.resolve(false), 503],
    ["readiness check throws", () => Promise.reject(new Error("db down")), 503],
  ])("readyz when %s → %i", async (_name, ready, status) => {
    const { app } = makeApp({ ready });
    const response = await app.request("/readyz");
    expect(response.status).toBe(status);
    if (status === 503) {
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({ code: "ERR_UNAVAILABLE" });
    }
  });

  it("counts requests by route pattern and status, never by raw path", async () => {
    const metrics = new Registry();
    const { app } = makeApp({ reader: memoryReader([record(1)]), metrics });
    await app.request("/events/1");
    await app.request("/events/2");
    await app.request("/nowhere/at/all");
    const response = await app.request("/metrics");
    expect(response.headers.get("content-type")).toBe(metrics.contentType);
    const text = await response.text();
    expect(text).toContain('annal_http_requests_total{method="GET",route="/events/:position",status="200"} 1');
    expect(text).toContain('annal_http_requests_total{method="GET",route="/events/:position",status="404"} 1');
    expect(text).toContain('annal_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain("annal_http_request_duration_seconds_bucket");
    expect(text).not.toContain("/nowhere");
  });

  it("shares metrics between two apps on one registry", () => {
    const metrics = new Registry();
    makeApp({ metrics });
    expect(() => makeApp({ metrics })).not.toThrow();
  });
});
