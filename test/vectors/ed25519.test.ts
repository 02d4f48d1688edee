// Annal's Ed25519 rule (docs/verification.md section 6) on the edge-case vectors of
// test/vectors/ed25519.json: the pure-JS verifier and the OpenSSL one behind the
// prechecks give the vectors' verdicts. The Python interop verifier (libsodium through
// PyNaCl) checks the same file in test/interop/python-verifier.test.ts.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { createNodeVerifier } from "../../src/cli/node-verifier.js";
import fc from "fast-check";
import { isCanonicalSignature, passesEd25519Prechecks, verifyEd25519 } from "../../src/core/index.js";

interface Case { name: string; why: string; publicKey: string; message: string; signature: string; valid: boolean }
const { cases } = JSON.parse(readFileSync(new URL("ed25519.json", import.meta.url), "utf8")) as { cases: Case[] };
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

/** OpenSSL alone, without Annal's prechecks. */
function opensslAlone(c: Case): boolean {
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(c.publicKey, "hex").toString("base64url") }, format: "jwk" });
    return verify(null, bytes(c.message), key, bytes(c.signature));
  } catch {
    return false;
  }
}

describe("Ed25519 edge cases (section 6)", () => {
  const native = createNodeVerifier();
  it.each(cases.map((c) => [c.name, c] as const))("%s: the pure-JS and the native verifier agree with the vector", (_name, c) => {
    expect(verifyEd25519(bytes(c.publicKey), bytes(c.message), bytes(c.signature))).toBe(c.valid);
    expect(native(bytes(c.publicKey), bytes(c.message), bytes(c.signature))).toBe(c.valid);
  });

  it("only speccheck-3 and the ordinary signature are valid (libsodium's column)", () => {
    expect(cases.filter((c) => c.valid).map((c) => c.name)).toEqual(["annal-1 valid", "speccheck-3"]);
    expect(cases).toHaveLength(16);
  });

  it("the vectors bite: libraries without the rule accept some of them", () => {
    const byName = (name: string) => cases.find((c) => c.name === name)!;
    // noble's own verify checks the cofactored equation: it accepts the mixed-order R.
    const mixed = byName("annal-3 R of mixed order");
    expect(ed25519.verify(bytes(mixed.signature), bytes(mixed.message), bytes(mixed.publicKey), { zip215: false })).toBe(true);
    // OpenSSL compares R as bytes (cofactorless) but does not refuse an R of small order.
    expect(opensslAlone(byName("annal-4 identity R"))).toBe(true);
    expect(passesEd25519Prechecks(bytes(byName("annal-4 identity R").publicKey), bytes(byName("annal-4 identity R").signature))).toBe(false);
    // OpenSSL accepts small-order keys (speccheck 0-2) that the rule refuses.
    expect(cases.filter((c) => !c.valid && opensslAlone(c)).map((c) => c.name)).toEqual(expect.arrayContaining(["speccheck-0", "speccheck-1", "speccheck-2"]));
  });

  it("S < L is decided exactly at the boundary (byte comparison against the BigInt rule)", () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const withS = (s: bigint) => {
      const sig = new Uint8Array(64);
      for (let i = 0; i < 32; i++, s >>= 8n) sig[32 + i] = Number(s & 0xffn);
      return sig;
    };
    for (const s of [0n, 1n, L - 1n, L, L + 1n, (1n << 256n) - 1n, 1n << 252n]) expect(isCanonicalSignature(withS(s))).toBe(s < L);
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (s) => isCanonicalSignature(withS(s)) === s < L));
    fc.assert(fc.property(fc.bigInt({ min: L - (1n << 64n), max: L + (1n << 64n) }), (s) => isCanonicalSignature(withS(s)) === s < L));
  });
});
