import { LedgerError } from "./errors.js";

export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted. */
  maxDepth?: number;
}

/**
 * Parses JSON text as I-JSON (RFC 7493) and rejects what a ledger must never store
 * ambiguously: duplicate object keys (JSON.parse silently keeps the last), `__proto__`
 * keys, nesting deeper than `maxDepth`, integers outside ±(2^53-1), numbers that
 * overflow to Infinity, and lone surrogates.
 *
 * Hand-written rather than a library: we need one fast pass that *rejects* these (the
 * libraries we looked at either strip `__proto__` silently or build a full AST), and the
 * final value still comes from the engine's JSON.parse.
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 32;
  const scanner = createScanner(text, maxDepth);
  scanner.value(0);
  scanner.ws();
  if (scanner.pos() !== text.length) throw invalid("unexpected data after the JSON value", scanner.pos());
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LedgerError("ERR_INVALID_JSON", "malformed JSON", { cause, details: { reason: "malformed JSON" } });
  }
}

function invalid(reason: string, offset: number): LedgerError {
  return new LedgerError("ERR_INVALID_JSON", `${reason} (at offset ${offset})`, { details: { reason, offset } });
}

function createScanner(text: string, maxDepth: number) {
  let i = 0;
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const expect = (ch: string): void => {
    if (text[i] !== ch) throw invalid(i >= text.length ? "unexpected end of JSON" : `expected '${ch}'`, i);
    i++;
  };
  const string = (): string => {
    const start = i;
    expect('"');
    let escaped = false;
    for (;;) {
      if (i >= text.length) throw invalid("unterminated string", start);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw invalid("control character in string", i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    const raw = text.slice(start + 1, i - 1);
    let decoded = raw;
    if (escaped) {
      try {
        decoded = JSON.parse(text.slice(start, i)) as string;
      } catch {
        throw invalid("invalid escape in string", start);
      }
    }
    if (!decoded.isWellFormed()) throw invalid("lone surrogate in string", start);
    return decoded;
  };
  const number = (): void => {
    const start = i;
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match) throw invalid("invalid value", i);
    i += match[0].length;
    const n = Number(match[0]);
    if (!Number.isFinite(n)) throw invalid("number out of range", start);
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) throw invalid("integer outside the I-JSON range ±(2^53-1)", start);
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else throw invalid("invalid value", i);
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      if (depth >= maxDepth) throw invalid(`nesting deeper than ${maxDepth}`, i);
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        ws();
        const keyAt = i;
        const key = string();
        if (key === "__proto__") throw invalid("__proto__ key is not allowed", keyAt);
        if (keys.has(key)) throw invalid(`duplicate key ${JSON.stringify(key)}`, keyAt);
        keys.add(key);
        ws();
        expect(":");
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("}");
        return;
      }
    }
    if (c === "[") {
      if (depth >= maxDepth) throw invalid(`nesting deeper than ${maxDepth}`, i);
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("]");
        return;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === undefined) throw invalid("unexpected end of JSON", i);
    number();
  };
  return { value, ws, pos: () => i };
}
