import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isLedgerError, parseStrictJson } from "../../../src/core/index.js";

function rejects(text: string, maxDepth?: number): string {
  try {
    parseStrictJson(text, maxDepth === undefined ? {} : { maxDepth });
  } catch (error) {
    expect(isLedgerError(error, "ERR_INVALID_JSON")).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(text)}`);
}

const nest = (depth: number, open = "[", close = "]"): string => open.repeat(depth) + close.repeat(depth);

describe("parseStrictJson: rejections (all ERR_INVALID_JSON)", () => {
  it.each([
    ["duplicate key", '{"a":1,"a":2}'],
    ["duplicate key, second escaped", '{"a":1,"\\u0061":2}'],
    ["duplicate key, both escaped differently", '{"\\u0061b":1,"a\\u0062":2}'],
    ["duplicate key in a nested object", '[{"x":{"k":1,"k":1}}]'],
    ["duplicate key with a surrogate pair spelled two ways", '{"😀":1,"\\ud83d\\ude00":2}'],
    ["__proto__ key", '{"__proto__":{"admin":true}}'],
    ["escaped __proto__ key", '{"\\u005f_proto__":{}}'],
    ["fully escaped __proto__ key", '{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f":1}'],
    ["nested __proto__ key", '{"a":[{"__proto__":1}]}'],
    ["integer 2^53", "9007199254740992"],
    ["integer -(2^53)", "-9007199254740992"],
    ["integer 1e16 in exponent form", "[1e16]"],
    ["huge float (integral)", "1.5e300"],
    ["number overflowing to Infinity", "1e400"],
    ["negative overflow", "-1e400"],
    ["lone high surrogate escape", '"\\ud800"'],
    ["lone low surrogate escape", '"\\udc00"'],
    ["reversed surrogate pair", '"\\ude00\\ud83d"'],
    ["lone surrogate in a key", '{"\\ud800":1}'],
    ["raw lone surrogate", '"\ud800"'],
    ["trailing data", '{"a":1} x'],
    ["two values", "1 2"],
    ["trailing comma in array", "[1,]"],
    ["trailing comma in object", '{"a":1,}'],
    ["raw newline in string", '"a\nb"'],
    ["raw tab in string", '"a\tb"'],
    ["raw NUL in string", '"a\u0000b"'],
    ["unterminated string", '"abc'],
    ["bad escape", '"\\x41"'],
    ["short unicode escape", '"\\u12"'],
    ["backslash at the end", '"\\'],
    ["empty text", ""],
    ["only whitespace", "  \n "],
    ["single quotes", "'a'"],
    ["unquoted key", "{a:1}"],
    ["leading zero", "01"],
    ["leading plus", "+1"],
    ["bare minus", "-"],
    ["dot without digits", "1."],
    ["leading dot", ".5"],
    ["hex number", "0x10"],
    ["NaN", "NaN"],
    ["Infinity", "Infinity"],
    ["truncated literal", "tru"],
    ["literal with suffix", "nullx"],
    ["capitalised literal", "True"],
    ["byte order mark", "\ufeff1"],
    ["non-JSON whitespace (NBSP)", "\u00a01"],
    ["missing colon", '{"a" 1}'],
    ["missing value", '{"a":}'],
    ["unclosed array", "[1,2"],
    ["unclosed object", '{"a":1'],
    ["comment", "[1 /* c */]"],
  ])("%s", (_name, text) => {
    rejects(text);
  });

  it("bounds the depth (default 32) for arrays and objects alike", () => {
    expect(parseStrictJson(nest(32))).toEqual(JSON.parse(nest(32)));
    rejects(nest(33));
    rejects("{\"a\":".repeat(33) + "1" + "}".repeat(33));
    expect(() => parseStrictJson("{\"a\":".repeat(32) + "1" + "}".repeat(32))).not.toThrow();
    rejects(nest(5), 4);
    expect(parseStrictJson(nest(4), { maxDepth: 4 })).toEqual(JSON.parse(nest(4)));
  });

  it("fails fast on pathological depth instead of overflowing the stack", () => {
    expect(rejects(nest(100_000))).toMatch(/nesting/);
  });

  it("names the offending key and offset", () => {
    expect(rejects('{"a":1,"\\u0061":2}')).toMatch(/duplicate key "a".*offset 7/);
  });
});

describe("parseStrictJson: accepted inputs equal JSON.parse", () => {
  it.each([
    ["null", "null"],
    ["literals", "[true,false,null]"],
    ["safe integer bounds", "[9007199254740991,-9007199254740991]"],
    ["fractions and exponents", "[0.1,-0,1e-7,2.5E+3,1E2,5e-324,1.5e-300,123456.789e3]"],
    ["underflow to zero", "1e-400"],
    ["escapes", '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"'],
    ["DEL and U+2028 raw", '"\u007f\u2028"'],
    ["whitespace everywhere", ' \t\r\n{ "a" : [ 1 , { } ] , "b" : "" } \n'],
    ["keys that differ only by case", '{"a":1,"A":2}'],
    ["proto-like keys", '{"__proto":1,"proto__":2,"constructor":3,"prototype":4}'],
    ["empty key", '{"":1}'],
  ])("%s", (_name, text) => {
    const value = parseStrictJson(text);
    expect(value).toStrictEqual(JSON.parse(text));
    expect(Object.is(parseStrictJson("-0"), -0)).toBe(true);
  });

  it("round-trips arbitrary JSON values (property)", () => {
    // fast-check's JSON includes integral doubles beyond 2^53, which I-JSON refuses.
    const inIJsonRange = (v: unknown): boolean =>
      typeof v === "number" ? !Number.isInteger(v) || Number.isSafeInteger(v) : typeof v !== "object" || v === null || Object.values(v).every(inIJsonRange);
    const safeJson = fc.jsonValue({ maxDepth: 6 }).filter((v) => inIJsonRange(v) && !JSON.stringify(v).includes("__proto__"));
    fc.assert(
      fc.property(safeJson, fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(parseStrictJson(text, { maxDepth: 64 })).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("never throws anything but ERR_INVALID_JSON on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        try {
          expect(parseStrictJson(text)).toStrictEqual(JSON.parse(text));
        } catch (error) {
          expect(isLedgerError(error, "ERR_INVALID_JSON")).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
