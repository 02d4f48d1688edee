import type { Context } from "hono";
import { LedgerError } from "../core/index.js";

const DIGITS = /^[0-9]{1,16}$/;

/**
 * A non-negative integer query parameter, or `fallback` when absent. Refuses signs,
 * decimals, exponents, repeats and values past 2^53-1: `Number("1e3")` and
 * `parseInt("12abc")` would both quietly accept what the client did not mean.
 */
export function integerQuery(c: Context, name: string, bounds: { min: number; max?: number; fallback: number }): number {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0) return bounds.fallback;
  if (values.length > 1) throw badQuery(name, `query parameter ${name} must appear at most once`);
  const raw = values[0] ?? "";
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    throw badQuery(name, `query parameter ${name} must be an integer from ${bounds.min} to ${max}`, { minimum: bounds.min, maximum: max });
  }
  return value;
}

/** A path segment that must be a non-negative integer (`/events/{position}`). */
export function integerPathParameter(raw: string, name: string): number {
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new LedgerError("ERR_INVALID_INPUT", `path parameter ${name} must be a non-negative integer`, { details: { parameter: name } });
  }
  return value;
}

function badQuery(name: string, message: string, extra: Record<string, unknown> = {}): LedgerError {
  return new LedgerError("ERR_INVALID_INPUT", message, { details: { parameter: name, ...extra } });
}
