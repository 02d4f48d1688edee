import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import type { AppendRequest, Ledger } from "../../../src/ledger/types.js";
import { APPEND_STAGES } from "../../../src/ledger/append-trace.js";
import { loadConfig } from "../../../src/config.js";
import { appendBody, JSON_HEADERS, makeApp, receiptFor } from "./fixtures.js";

/** A ledger that answers at once and keeps what it was asked. */
function recordingLedger(): { ledger: Ledger; requests: AppendRequest[] } {
  const requests: AppendRequest[] = [];
  const ledger: Ledger = {
    append: vi.fn((request: AppendRequest) => {
      requests.push(request);
      return Promise.resolve(receiptFor(request.streamId, request.events.length));
    }),
    close: () => Promise.resolve(),
  };
  return { ledger, requests };
}

/** Every line the app logs at `level`, parsed. */
function logAt(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const append = (app: ReturnType<typeof makeApp>["app"]) => app.request("/streams/orders-1/events", { method: "POST", headers: JSON_HEADERS, body: appendBody() });

describe("append tracing (ANNAL_TRACE_APPENDS)", () => {
  it("is off by default: no timeline reaches the ledger and no stage metric exists", async () => {
    expect(loadConfig({}).traceAppends).toBe(false);
    const { ledger, requests } = recordingLedger();
    const { app, deps } = makeApp({ ledger });

    expect((await append(app)).status).toBe(201);

    expect(requests).toHaveLength(1);
    expect(requests[0]).not.toHaveProperty("timeline");
    expect(await deps.metrics.metrics()).not.toContain("annal_append_stage_seconds");
  });

  it("when on, records each append's stages in one histogram per stage, in timeline order", async () => {
    expect(loadConfig({ ANNAL_TRACE_APPENDS: "1" }).traceAppends).toBe(true);
    const { ledger, requests } = recordingLedger();
    const { app, deps } = makeApp({ ledger }, { traceAppends: true });

    expect((await append(app)).status).toBe(201);
    expect((await append(app)).status).toBe(201);

    // The edge's stages are stamped in order; the ledger's (queued…durable) are the ledger's to stamp.
    const at = requests[0]!.timeline!.at;
    const edge = ["received", "authorised", "bodyRead", "parsed", "validated", "resolved", "answered"].map((s) => at[APPEND_STAGES.indexOf(s as never)]!);
    for (const t of edge) expect(Number.isNaN(t)).toBe(false);
    expect([...edge].sort((a, b) => a - b)).toEqual(edge);
    const text = await deps.metrics.metrics();
    // The recording ledger stamps no ledger stages, so requests never "queued" are not recorded.
    expect(text).not.toMatch(/annal_append_stage_seconds_count\{stage="total"\}/);
  });

  it("records the stages of appends that reached the ledger", async () => {
    const { ledger } = recordingLedger();
    const queuing: Ledger = {
      ...ledger,
      append: (request) => {
        // What the real ledger does when it queues the append.
        request.timeline!.at[APPEND_STAGES.indexOf("queued")] = performance.now();
        return ledger.append(request);
      },
    };
    const { app, deps } = makeApp({ ledger: queuing }, { traceAppends: true });

    for (let i = 0; i < 3; i++) expect((await append(app)).status).toBe(201);

    const text = await deps.metrics.metrics();
    for (const stage of ["authorised", "bodyRead", "parsed", "validated", "queued", "resolved", "answered", "total"]) {
      expect(text).toContain(`annal_append_stage_seconds_count{stage="${stage}"} 3`);
    }
    // In-process (app.request) there is no socket: nothing is "sent".
    expect(text).not.toMatch(/annal_append_stage_seconds_count\{stage="sent"\} [1-9]/);
  });
});

describe("request logging", () => {
  it("logs no line per append at the default level (info) unless the access log is on", async () => {
    expect(loadConfig({}).logLevel).toBe("info");
    expect(loadConfig({}).accessLog).toBe(false);
    const quiet = logAt("info");
    const { app } = makeApp({ ledger: recordingLedger().ledger, logger: quiet.logger });
    for (let i = 0; i < 3; i++) expect((await append(app)).status).toBe(201);
    expect(quiet.lines).toEqual([]);

    expect(loadConfig({ ANNAL_ACCESS_LOG: "1" }).accessLog).toBe(true);
    const access = logAt("info");
    const { app: logged } = makeApp({ ledger: recordingLedger().ledger, logger: access.logger }, { accessLog: true });
    for (let i = 0; i < 3; i++) expect((await append(logged)).status).toBe(201);
    expect(access.lines).toHaveLength(3);
    expect(access.lines[0]).toMatchObject({ msg: "request completed", method: "POST", route: "/streams/:streamId/events", status: 201 });
    expect(typeof access.lines[0]!["requestId"]).toBe("string");
  });
});
