import canonicalizeModule from "canonicalize";
import { LedgerError } from "./errors.js";

/** A JSON value as Annal stores it: I-JSON (RFC 7493), the input domain of RFC 8785. */
// The package is CommonJS (`module.exports = serialize`) but its typings declare a
// default export; at run time the default import is the function itself.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * RFC 8785 (JCS) canonical JSON of an I-JSON value.
 *
 * Serialisation is the `canonicalize` library (RFC 8785 author's reference algorithm:
 * ES number formatting, UTF-16 code-unit key order). It accepts more than I-JSON
 * (lone surrogates, unsafe integers, `toJSON`), so the value is checked first: a value
 * that two verifiers could read differently is never hashed.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  assertIJson(value);
  const text = canonicalize(value);
  if (text === undefined) throw new LedgerError("ERR_INVALID_INPUT", "value has no JSON form");
  return text;
}

/**
 * RFC 8785 serialisation without the I-JSON check, for verifiers hashing values that came
 * out of JSON.parse: bytes that differ from what was hashed at append (because the value
 * was not I-JSON) give another SHA-256 and fail the comparison, so the check adds nothing
 * there but cost.
 */
export function canonicalJsonUnchecked(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new LedgerError("ERR_INVALID_INPUT", "value has no JSON form");
  return text;
}

export const MAX_SAFE_JSON_INTEGER = Number.MAX_SAFE_INTEGER;

/** Throws ERR_INVALID_INPUT naming the JSON pointer of the first non-I-JSON part. */
export function assertIJson(value: unknown, path = "", depth = 0): asserts value is JsonValue {
  if (depth > 512) fail(path, "nesting too deep");
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "string") {
    if (!value.isWellFormed()) fail(path, "string contains a lone surrogate");
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(path, "number is not finite");
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) fail(path, "integer outside the I-JSON range ±(2^53-1)");
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertIJson(value[i], `${path}/${i}`, depth + 1);
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) fail(path, "not a plain object");
    for (const key of Object.keys(value)) {
      if (!key.isWellFormed()) fail(path, "object key contains a lone surrogate");
      assertIJson((value as Record<string, unknown>)[key], `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`, depth + 1);
    }
    return;
  }
  fail(path, `${typeof value} is not JSON`);
}

function fail(path: string, reason: string): never {
  throw new LedgerError("ERR_INVALID_INPUT", `${reason} at ${path || "/"}`, { details: { pointer: path || "/", reason } });
}
