import type { MiddlewareHandler } from "hono";
import { LedgerError } from "../../core/index.js";
import type { AppEnv } from "../context.js";

export const API_VERSION_HEADER = "Annal-Api-Version";
/** Oldest first; the last one is what a request without the header gets. */
export const SUPPORTED_API_VERSIONS: readonly string[] = ["1"];
export const LATEST_API_VERSION = SUPPORTED_API_VERSIONS[SUPPORTED_API_VERSIONS.length - 1] ?? "1";

/**
 * Negotiates the API version. The chosen version is echoed on every response, errors
 * included (set before `next()`, so the error renderer's response carries it too); an
 * unsupported version is refused rather than served as the latest, because a client
 * asking for `2` must not silently get `1` semantics.
 */
export function apiVersion(): MiddlewareHandler<AppEnv> {
  return async function apiVersion(c, next) {
    const requested = c.req.header(API_VERSION_HEADER);
    c.header("Vary", API_VERSION_HEADER, { append: true });
    if (requested === undefined) {
      c.set("apiVersion", LATEST_API_VERSION);
      c.header(API_VERSION_HEADER, LATEST_API_VERSION);
      return next();
    }
    const version = requested.trim();
    if (!SUPPORTED_API_VERSIONS.includes(version)) {
      // The error itself is written in the latest version's format, so that is what we echo.
      c.set("apiVersion", LATEST_API_VERSION);
      c.header(API_VERSION_HEADER, LATEST_API_VERSION);
      throw new LedgerError("ERR_API_VERSION", `API version ${JSON.stringify(version)} is not supported; supported: ${SUPPORTED_API_VERSIONS.join(", ")}`, {
        details: { supported: [...SUPPORTED_API_VERSIONS] },
      });
    }
    c.set("apiVersion", version);
    c.header(API_VERSION_HEADER, version);
    return next();
  };
}
