import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import { LedgerError, parseStrictJson } from "../core/index.js";
import { mark, STAGE } from "../ledger/append-trace.js";
import type { AppEnv } from "./context.js";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a request body as strict JSON (see `parseStrictJson`): duplicate keys,
 * `__proto__`, excessive depth, numbers outside I-JSON and lone surrogates are refused.
 *
 * The body size is already bounded by the body-limit middleware in front of the route.
 * Bytes are decoded with a fatal decoder: a lenient one would turn invalid UTF-8 into
 * U+FFFD, and we would hash and sign a payload the client never sent.
 */
export async function readJsonBody(c: Context<AppEnv>, maxDepth: number): Promise<unknown> {
  assertJsonContentType(c.req.header("Content-Type"));
  const bytes = await readBodyBytes(c);
  const timeline = c.get("timeline");
  mark(timeline, STAGE.bodyRead);
  let text: string;
  try {
    text = fatalUtf8.decode(bytes);
  } catch (cause) {
    throw new LedgerError("ERR_INVALID_JSON", "request body is not valid UTF-8", { cause });
  }
  const parsed = parseStrictJson(text, { maxDepth });
  mark(timeline, STAGE.parsed);
  return parsed;
}

/**
 * The body's bytes. Under Node, a body with a Content-Length is read straight from the
 * socket's IncomingMessage: going through `c.req.arrayBuffer()` would build an undici
 * Request, an AbortController and a web ReadableStream over the Node stream for every
 * request, which cost more CPU than the rest of the edge (issue 12). The limit still
 * holds: the body-limit middleware refused a Content-Length over it, and Node's parser
 * never delivers more than Content-Length bytes. A chunked body (which the body-limit
 * middleware wraps in a counting stream) and Bun take the standard path.
 */
function readBodyBytes(c: Context<AppEnv>): Promise<Uint8Array | ArrayBuffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined || incoming.readableEnded || incoming.destroyed) return c.req.arrayBuffer();
  const headers = incoming.headers;
  if (headers["content-length"] === undefined || headers["transfer-encoding"] !== undefined) return c.req.arrayBuffer();
  return readIncoming(incoming);
}

function readIncoming(incoming: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    // A client that goes away mid-body: 'close' without 'end'.
    const onClose = () => {
      if (incoming.complete) return;
      done();
      reject(new LedgerError("ERR_INVALID_INPUT", "the request body ended before its Content-Length"));
    };
    const done = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/** `application/json`, optionally with `charset=utf-8` (RFC 8259 allows no other). */
export function assertJsonContentType(header: string | undefined): void {
  const [mediaType = "", ...parameters] = (header ?? "").split(";").map((part) => part.trim().toLowerCase());
  const charsetOk = parameters.every((parameter) => !parameter.startsWith("charset=") || /^charset="?utf-8"?$/.test(parameter));
  if (mediaType !== "application/json" || !charsetOk) {
    throw new LedgerError("ERR_UNSUPPORTED_MEDIA_TYPE", "request body must be application/json (UTF-8)", {
      details: { supported: ["application/json"] },
    });
  }
}
