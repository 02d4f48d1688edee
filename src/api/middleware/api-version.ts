import type { MiddlewareHandler } from "hono";
import { LedgerError } from "../../core/index.js";
import type { AppEnv } from "../context.js";

export const API_VERSION_HEADER = "Annal-Api-Version";

export interface DeprecatedVersion {
  /** When the version was deprecated: sent as `Deprecation: @<unix seconds>` (RFC 9745). */
  deprecatedAt: Date;
  /** When it stops being served: sent as `Sunset: <HTTP-date>` (RFC 8594). */
  sunsetAt?: Date;
  /** Migration notes: sent as `Link: <url>; rel="deprecation"`. */
  link?: string;
}

export interface ApiVersionPolicy {
  /** Oldest first. A request without the header gets the newest one that is not deprecated. */
  supported: readonly string[];
  /** Versions still served but on their way out; each must also be in `supported`. */
  deprecated?: Readonly<Record<string, DeprecatedVersion>>;
}

/** The versions this build serves. Deprecate one here; docs/api.md states the policy. */
export const API_VERSIONS: ApiVersionPolicy = { supported: ["1"], deprecated: {} };
/** Kept for callers of the first release of this module. */
export const SUPPORTED_API_VERSIONS: readonly string[] = API_VERSIONS.supported;

export function latestApiVersion(policy: ApiVersionPolicy): string {
  const current = policy.supported.filter((v) => policy.deprecated?.[v] === undefined);
  const latest = current[current.length - 1] ?? policy.supported[policy.supported.length - 1];
  if (latest === undefined) throw new LedgerError("ERR_CONFIG", "the API version policy supports no version");
  return latest;
}

/**
 * Negotiates the API version. The chosen version is echoed on every response, errors
 * included (set before `next()`, so the error renderer's response carries it too); an
 * unsupported version is refused rather than served as the latest, because a client
 * asking for `2` must not silently get `1` semantics. A deprecated version is served
 * with `Deprecation`, `Sunset` and `Link` headers so clients see the date coming.
 */
export function apiVersion(policy: ApiVersionPolicy = API_VERSIONS): MiddlewareHandler<AppEnv> {
  const latest = latestApiVersion(policy);
  for (const version of Object.keys(policy.deprecated ?? {})) {
    if (!policy.supported.includes(version)) throw new LedgerError("ERR_CONFIG", `deprecated API version ${version} is not in the supported list`);
  }
  return async function apiVersion(c, next) {
    const requested = c.req.header(API_VERSION_HEADER);
    c.header("Vary", API_VERSION_HEADER, { append: true });
    const version = requested === undefined ? latest : requested.trim();
    if (!policy.supported.includes(version)) {
      // The error itself is written in the latest version's format, so that is what we echo.
      c.set("apiVersion", latest);
      c.header(API_VERSION_HEADER, latest);
      throw new LedgerError("ERR_API_VERSION", `API version ${JSON.stringify(version)} is not supported; supported: ${policy.supported.join(", ")}`, {
        details: { supported: [...policy.supported] },
      });
    }
    c.set("apiVersion", version);
    c.header(API_VERSION_HEADER, version);
    const deprecation = policy.deprecated?.[version];
    if (deprecation !== undefined) {
      c.header("Deprecation", `@${Math.floor(deprecation.deprecatedAt.getTime() / 1000)}`);
      if (deprecation.sunsetAt !== undefined) c.header("Sunset", deprecation.sunsetAt.toUTCString());
      if (deprecation.link !== undefined) c.header("Link", `<${deprecation.link}>; rel="deprecation"`, { append: true });
    }
    return next();
  };
}

export const LATEST_API_VERSION = latestApiVersion(API_VERSIONS);
