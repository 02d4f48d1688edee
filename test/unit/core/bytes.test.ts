import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { concatBytes, equalBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from "../../../src/core/index.js";

const nodeBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

describe("base64", () => {
  it.each([
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ])("RFC 4648 section 10: %j <-> %s", (text, b64) => {
    expect(toBase64(utf8(text))).toBe(b64);
    expect(fromBase64(b64)).toEqual(utf8(text));
  });

  it("agrees with Node's encoder and round-trips (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const b64 = toBase64(bytes);
        expect(b64).toBe(nodeBase64(bytes));
        expect(fromBase64(b64)).toEqual(bytes);
      }),
    );
  });

  it.each([
    ["non-zero bits under one '='", "Zm9=", "Zm8="],
    ["non-zero bits under '=='", "Zh==", "Zg=="],
    ["lowest pad bit set under '=='", "Zn==", "Zg=="],
    ["lowest pad bit set under '='", "AAB=", "AAA="],
  ])("rejects non-canonical padding bits: %s (%s, canonical %s)", (_name, bad, good) => {
    expect(fromBase64(good)).toBeDefined();
    expect(fromBase64(bad)).toBeUndefined();
    // Node is lenient here, which is exactly why a verifier must not be.
    expect(Buffer.from(bad, "base64")).toEqual(Buffer.from(good, "base64"));
  });

  it.each([
    ["missing padding", "Zg"],
    ["missing one pad", "Zm8"],
    ["too much padding", "Zg==="],
    ["padding in the middle", "Zg==Zg=="],
    ["pad then data", "Z=g="],
    ["whitespace", "Zm9v\n"],
    ["inner space", "Zm 9v"],
    ["URL-safe alphabet -", "-_8="],
    ["URL-safe alphabet _", "__8="],
    ["non-ASCII", "Zm9\u00e9"],
    ["only padding", "===="],
    ["three pads", "Z==="],
  ])("rejects %s", (_name, text) => {
    expect(fromBase64(text)).toBeUndefined();
  });

  it("rejects every one-character corruption that would decode to other bytes non-canonically (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 0, max: 127 }), (bytes, at, code) => {
        const b64 = toBase64(bytes);
        const i = at % b64.length;
        const mutated = b64.slice(0, i) + String.fromCharCode(code) + b64.slice(i + 1);
        const decoded = fromBase64(mutated);
        // Strictness means: whatever decodes must re-encode to the very same text.
        if (decoded) expect(toBase64(decoded)).toBe(mutated);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("hex", () => {
  it("encodes lowercase and round-trips", () => {
    expect(toHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe("0001abff");
    expect(fromHex("0001abff")).toEqual(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(fromHex("")).toEqual(new Uint8Array(0));
  });

  it.each(["0", "abc", "AB", "0x00", "zz", " 00", "00 ", "0g"])("rejects %j", (text) => {
    expect(fromHex(text)).toBeUndefined();
  });

  it("round-trips (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(fromHex(toHex(bytes))).toEqual(bytes);
      }),
    );
  });
});

describe("concatBytes / equalBytes / utf8", () => {
  it("concatenates in order", () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it("compares length and content", () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });

  it("encodes UTF-8", () => {
    expect(toHex(utf8("é😀"))).toBe("c3a9f09f9880");
  });
});
