import { describe, expect, it } from "vitest";
import canonicalizeModule from "canonicalize";
import { canonicalJson, isLedgerError } from "../../../src/core/index.js";

const canonicalizeLibrary = canonicalizeModule as unknown as (value: unknown) => string | undefined;

function fromIeeeHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function invalidInput(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isLedgerError(error, "ERR_INVALID_INPUT")) return (error.details as { pointer: string }).pointer;
    throw error;
  }
  throw new Error("expected ERR_INVALID_INPUT");
}

// RFC 8785 appendix B: IEEE 754 bit patterns and their JCS serialisation.
const APPENDIX_B_IN_DOMAIN: [string, string][] = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"],
];

// The rest of appendix B: integral doubles beyond ±(2^53-1). Annal's I-JSON profile
// refuses them (two verifiers could disagree on their value), so canonicalJson throws.
const APPENDIX_B_OUT_OF_DOMAIN: [string, string][] = [
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
];

describe("canonicalJson: RFC 8785 numbers (appendix B)", () => {
  it.each(APPENDIX_B_IN_DOMAIN)("0x%s serialises as %s", (hex, expected) => {
    expect(canonicalJson(fromIeeeHex(hex))).toBe(expected);
    expect(canonicalJson([fromIeeeHex(hex)])).toBe(`[${expected}]`);
  });

  it.each(APPENDIX_B_OUT_OF_DOMAIN)("0x%s (%s) is outside I-JSON and refused", (hex, expected) => {
    expect(invalidInput(() => canonicalJson({ n: fromIeeeHex(hex) }))).toBe("/n");
    // The serialiser itself would follow the RFC, should the domain ever widen.
    expect(canonicalizeLibrary(fromIeeeHex(hex))).toBe(expected);
  });

  it("refuses NaN and ±Infinity (0x7fffffffffffffff, 0x7ff0000000000000)", () => {
    expect(invalidInput(() => canonicalJson(fromIeeeHex("7fffffffffffffff")))).toBe("/");
    expect(invalidInput(() => canonicalJson(fromIeeeHex("7ff0000000000000")))).toBe("/");
    expect(invalidInput(() => canonicalJson([1, -Infinity]))).toBe("/1");
  });

  it("keeps the largest safe integers exact", () => {
    expect(canonicalJson(Number.MAX_SAFE_INTEGER)).toBe("9007199254740991");
    expect(canonicalJson(-Number.MAX_SAFE_INTEGER)).toBe("-9007199254740991");
  });
});

describe("canonicalJson: RFC 8785 structure and strings", () => {
  it("reproduces the RFC 8785 section 3.2.2 example (without its 1E30, which is outside I-JSON)", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it("sorts keys by UTF-16 code units (RFC 8785 section 3.2.3 example)", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("orders a surrogate pair before U+E000..U+FFFF, as UTF-16 does and UTF-8/code points do not", () => {
    expect(canonicalJson({ "\uffff": 1, "\ud800\udc00": 2 })).toBe('{"\ud800\udc00":2,"\uffff":1}');
  });

  it("sorts nested objects and keeps array order", () => {
    expect(canonicalJson({ b: [{ z: 1, a: 2 }, 3], a: { y: null, x: false } })).toBe('{"a":{"x":false,"y":null},"b":[{"a":2,"z":1},3]}');
  });

  it("escapes only what JSON requires, with short forms and lowercase \\u00xx", () => {
    const all = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join("");
    expect(canonicalJson(all)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
    );
    expect(canonicalJson('"\\/\u007f\u2028\u00e9😀')).toBe('"\\"\\\\/\u007f\u2028\u00e9😀"');
  });

  it("has no whitespace and drops nothing but what JSON cannot hold", () => {
    expect(canonicalJson({ a: [], b: {}, c: "" })).toBe('{"a":[],"b":{},"c":""}');
  });
});

describe("canonicalJson: I-JSON rejections", () => {
  it.each([
    ["lone high surrogate in a value", { a: "x\ud800" }, "/a"],
    ["lone low surrogate in a value", ["\udc00"], "/0"],
    ["lone surrogate in a key", { "k\ud800": 1 }, "/"],
    ["unsafe integer", { a: { b: 2 ** 53 } }, "/a/b"],
    ["negative unsafe integer", [-(2 ** 53) - 2], "/0"],
    ["Date (non-plain object)", { when: new Date(0) }, "/when"],
    ["Map", { m: new Map() }, "/m"],
    ["class instance", [new (class Thing {})()], "/0"],
    ["object with toJSON via prototype", { x: Object.create({ toJSON: () => 1 }) as unknown }, "/x"],
    ["undefined", { u: undefined }, "/u"],
    ["function", { f: () => 1 }, "/f"],
    ["bigint", { n: 1n }, "/n"],
    ["symbol", [Symbol("s")], "/0"],
  ])("%s", (_name, value, pointer) => {
    expect(invalidInput(() => canonicalJson(value))).toBe(pointer);
  });

  it("escapes ~ and / in the JSON pointer of the offending member", () => {
    expect(invalidInput(() => canonicalJson({ "a/b~c": 2 ** 60 }))).toBe("/a~1b~0c");
  });

  it("accepts null-prototype objects and well-formed surrogate pairs", () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.z = 1;
    bare.a = "😀";
    expect(canonicalJson(bare)).toBe('{"a":"😀","z":1}');
  });

  it("refuses nesting deeper than 512", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 600; i++) deep = [deep];
    expect(invalidInput(() => canonicalJson(deep))).toMatch(/^\/0\/0/);
  });
});
