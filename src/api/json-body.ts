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
  const bytes = await c.req.arrayBuffer();
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
