import { request } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startServer, type RunningServer } from "../../../src/api/index.js";
import type { AppendRequest, Ledger } from "../../../src/ledger/types.js";
import { appendBody, makeApp, receiptFor } from "./fixtures.js";

// Under Node a body with a Content-Length is read straight from the IncomingMessage and
// bounded by the header (json-body.ts, middleware/body-limit.ts); a chunked body goes
// through hono's streaming limit. Both over a real socket, as clients send them.

const MAX_BODY = 4096;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One raw HTTP/1.1 request: `chunks` written one by one, with or without a Content-Length. */
function send(url: string, chunks: Array<string | Uint8Array>, options: { contentLength?: number | "auto"; end?: boolean } = {}): Promise<Answer> {
  const total = chunks.reduce((n, c) => n + (typeof c === "string" ? Buffer.byteLength(c) : c.length), 0);
  const length = options.contentLength === "auto" ? total : options.contentLength;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/streams/orders-1/events`, { method: "POST", headers: { "content-type": "application/json", ...(length === undefined ? {} : { "content-length": String(length) }) } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        // A body never finished holds the connection open: let it go once answered.
        if (options.end === false) req.destroy();
        resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    if (options.end !== false) req.end();
    else req.flushHeaders();
  });
}

function recordingLedger(): { ledger: Ledger; append: ReturnType<typeof vi.fn>; requests: AppendRequest[] } {
  const requests: AppendRequest[] = [];
  const append = vi.fn((r: AppendRequest) => {
    requests.push(r);
    return Promise.resolve(receiptFor(r.streamId, r.events.length));
  });
  return { ledger: { append, close: () => Promise.resolve() }, append, requests };
}

describe("request bodies over a Node socket", () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function listen(ledger: Ledger) {
    const { app } = makeApp({ ledger }, { maxBodyBytes: MAX_BODY });
    server = await startServer(app, { port: 0 });
    return server.url;
  }

  it("reads a body with a Content-Length that arrives in several pieces", async () => {
    const { ledger, requests } = recordingLedger();
    const url = await listen(ledger);
    const body = appendBody([{ type: "OrderPlaced", data: { note: "é ✓ 😀", n: 1 } }]);
    const bytes = Buffer.from(body);
    // Split inside a multi-byte character: the bytes are decoded whole, not per piece.
    const cut = bytes.indexOf(Buffer.from("✓")) + 1;
    const answer = await send(url, [bytes.subarray(0, cut), bytes.subarray(cut)], { contentLength: "auto" });

    expect(answer.status).toBe(201);
    expect(requests[0]!.events[0]!.data).toEqual({ note: "é ✓ 😀", n: 1 });
  });

  it("reads a chunked body (no Content-Length)", async () => {
    const { ledger, requests } = recordingLedger();
    const url = await listen(ledger);
    const answer = await send(url, ['{"events":[{"type":"OrderPlaced",', '"data":{"total":7}}]}']);

    expect(answer.status).toBe(201);
    expect(requests[0]!.events[0]!.data).toEqual({ total: 7 });
  });

  it("refuses a Content-Length over the limit, and a chunked body past it", async () => {
    const { ledger, append } = recordingLedger();
    const url = await listen(ledger);
    const declared = await send(url, [], { contentLength: MAX_BODY + 1, end: false });
    const chunked = await send(url, Array.from({ length: 8 }, () => " ".repeat(1024)));

    expect([declared.status, declared.body["code"]]).toEqual([413, "ERR_PAYLOAD_TOO_LARGE"]);
    expect([chunked.status, chunked.body["code"]]).toEqual([413, "ERR_PAYLOAD_TOO_LARGE"]);
    expect(append).not.toHaveBeenCalled();
  });

  it("refuses invalid UTF-8 read from the socket", async () => {
    const { ledger, append } = recordingLedger();
    const url = await listen(ledger);
    const answer = await send(url, [new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])], { contentLength: "auto" });

    expect([answer.status, answer.body["code"]]).toEqual([400, "ERR_INVALID_JSON"]);
    expect(append).not.toHaveBeenCalled();
  });

  it("never appends a body cut short by a client that goes away", async () => {
    const { ledger, append } = recordingLedger();
    const url = await listen(ledger);
    const body = appendBody();
    await new Promise<void>((resolve) => {
      const req = request(`${url}/streams/orders-1/events`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(body.length + 10) } });
      req.on("error", () => resolve());
      req.write(body, () => setImmediate(() => req.destroy()));
      req.on("close", () => resolve());
    });
    // The server is still answering, and nothing was appended.
    const after = await send(url, [appendBody()], { contentLength: "auto" });
    expect(after.status).toBe(201);
    expect(append).toHaveBeenCalledTimes(1);
  });
});
