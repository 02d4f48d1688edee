import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context.js";

/**
 * Refuses a body over `maxBytes`: a Content-Length over it before anything is read, a
 * chunked body as soon as its running count passes it (hono/body-limit).
 *
 * A request with a Content-Length is decided from the header alone, without touching
 * `c.req.raw.body` as hono/body-limit does first: under @hono/node-server that access
 * builds an undici Request and a web stream per request, which the edge then need not
 * build at all (json-body.ts reads Node's stream directly). Node's parser delivers no
 * more than Content-Length bytes, so the header is the bound.
 */
export function limitBody(maxBytes: number, onError: () => never): MiddlewareHandler<AppEnv> {
  const streaming = bodyLimit({ maxSize: maxBytes, onError });
  return async function limitBody(c, next) {
    const length = c.req.header("Content-Length");
    if (length === undefined || c.req.header("Transfer-Encoding") !== undefined) return streaming(c, next);
    if (!/^\d+$/.test(length) || Number(length) > maxBytes) onError();
    await next();
  };
}
