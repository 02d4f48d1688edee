import { createHash, createPublicKey, verify as nodeVerify } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  findNoteSignature,
  formatCheckpointBody,
  formatNote,
  formatVerifierKey,
  isCanonicalSignature,
  isValidKeyName,
  noteKeyHash,
  parseCheckpointBody,
  parseNote,
  parseVerifierKey,
  strictVerifier,
  toBase64,
  toHex,
  utf8,
  verifyEd25519,
  type SignatureVerifier,
} from "../../../src/core/index.js";
import { createFixtureKey, signNote } from "../../support/chain-fixture.js";

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const key = createFixtureKey();

/** The same signature with S replaced by S + L: a second spelling lenient verifiers accept. */
function malleate(signature: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  s += L;
  const out = signature.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

const nodeEd25519: SignatureVerifier = (publicKey, message, signature) =>
  nodeVerify(null, message, createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), publicKey]), format: "der", type: "spki" }), signature);

describe("Ed25519 verification", () => {
  const message = utf8("annal");
  const signature = key.sign(message);

  it("accepts a valid signature with noble and with node:crypto behind strictVerifier", () => {
    expect(verifyEd25519(key.publicKey, message, signature)).toBe(true);
    expect(strictVerifier(nodeEd25519)(key.publicKey, message, signature)).toBe(true);
    expect(isCanonicalSignature(signature)).toBe(true);
  });

  it("rejects the malleated S + L signature everywhere", () => {
    const twin = malleate(signature);
    expect(twin).not.toEqual(signature);
    expect(isCanonicalSignature(twin)).toBe(false);
    expect(verifyEd25519(key.publicKey, message, twin)).toBe(false);
    // Even a verifier that would accept anything is held to canonical S.
    expect(strictVerifier(() => true)(key.publicKey, message, twin)).toBe(false);
    expect(strictVerifier(nodeEd25519)(key.publicKey, message, twin)).toBe(false);
  });

  it("treats S = L - 1 as canonical and S = L as not", () => {
    const at = (s: bigint): Uint8Array => {
      const out = new Uint8Array(64);
      for (let i = 32; i < 64; i++) {
        out[i] = Number(s & 0xffn);
        s >>= 8n;
      }
      return out;
    };
    expect(isCanonicalSignature(at(L - 1n))).toBe(true);
    expect(isCanonicalSignature(at(L))).toBe(false);
    expect(isCanonicalSignature(at((1n << 256n) - 1n))).toBe(false);
  });

  it("rejects wrong lengths, wrong keys, wrong messages and any flipped bit (property)", () => {
    expect(verifyEd25519(key.publicKey, message, signature.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(key.publicKey.subarray(1), message, signature)).toBe(false);
    expect(verifyEd25519(createFixtureKey(new Uint8Array(32).fill(9)).publicKey, message, signature)).toBe(false);
    expect(verifyEd25519(key.publicKey, utf8("annaL"), signature)).toBe(false);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 * 8 - 1 }), (bit) => {
        const bad = signature.slice();
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(verifyEd25519(key.publicKey, message, bad)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("signed note (C2SP signed-note)", () => {
  const text = "annal.example/test-log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

  it("formats and parses a note round trip", () => {
    const note = signNote(key, text);
    expect(note.startsWith(`${text}\n\u2014 ${key.noteName} `)).toBe(true);
    expect(note.endsWith("\n")).toBe(true);
    const parsed = parseNote(note)!;
    expect(parsed.text).toBe(text);
    expect(parsed.signatures).toHaveLength(1);
    const sig = parsed.signatures[0]!;
    expect(sig.name).toBe(key.noteName);
    expect(sig.keyHash).toEqual(noteKeyHash(key.noteName, key.publicKey));
    expect(formatNote(parsed.text, parsed.signatures)).toBe(note);
  });

  it("signs the text bytes exactly, so verifyEd25519 accepts the note signature", () => {
    const parsed = parseNote(signNote(key, text))!;
    const sig = findNoteSignature(parsed, key.noteName, key.publicKey)!;
    expect(verifyEd25519(key.publicKey, utf8(parsed.text), sig.signature)).toBe(true);
    expect(verifyEd25519(key.publicKey, utf8(parsed.text.slice(0, -1)), sig.signature)).toBe(false);
  });

  it("computes the key hash as SHA-256(name || 0x0a || 0x01 || key)[:4]", () => {
    const manual = createHash("sha256").update(key.noteName).update(new Uint8Array([0x0a, 0x01])).update(key.publicKey).digest();
    expect(toHex(noteKeyHash(key.noteName, key.publicKey))).toBe(manual.subarray(0, 4).toString("hex"));
  });

  it("finds the right signature among several and ignores other keys", () => {
    const other = createFixtureKey(new Uint8Array(32).fill(3), "other.example/witness");
    const note = formatNote(text, [
      { name: other.noteName, keyHash: noteKeyHash(other.noteName, other.publicKey), signature: other.sign(utf8(text)) },
      { name: key.noteName, keyHash: noteKeyHash(key.noteName, key.publicKey), signature: key.sign(utf8(text)) },
    ]);
    const parsed = parseNote(note)!;
    expect(parsed.signatures).toHaveLength(2);
    expect(findNoteSignature(parsed, key.noteName, key.publicKey)?.signature).toEqual(key.sign(utf8(text)));
    expect(findNoteSignature(parsed, key.noteName, other.publicKey)).toBeUndefined();
  });

  it.each([
    ["no blank line", `${text}\u2014 name AAAA\n`],
    ["no trailing newline", signNote(key, text).slice(0, -1)],
    ["signature line without the em dash", signNote(key, text).replace("\u2014 ", "- ")],
    ["bad base64 in signature", `${text}\n\u2014 ${key.noteName} AAAA!AAA\n`],
    ["signature too short", `${text}\n\u2014 ${key.noteName} AAAAAA==\n`],
    ["empty signature block", `${text}\n\n`],
    ["name with a plus", `${text}\n\u2014 a+b ${toBase64(new Uint8Array(68))}\n`],
    ["control character in text", signNote(key, text).replace("test-log", "test\u0007log")],
    ["non-canonical base64 in signature", nonCanonicalSignatureNote()],
  ])("rejects a malformed note: %s", (_name, note) => {
    expect(parseNote(note)).toBeUndefined();
  });

  it("refuses to format text that is not a valid note body", () => {
    expect(() => formatNote("no newline", [])).toThrow(RangeError);
    expect(() => formatNote("a\n\nb\n", [])).toThrow(RangeError);
    expect(() => formatNote("bell\u0007\n", [])).toThrow(RangeError);
  });
});

describe("verifier keys (golang.org/x/mod/sumdb/note format)", () => {
  it("formats name+hash+base64(0x01||key) and parses it back", () => {
    const vkey = formatVerifierKey(key.noteName, key.publicKey);
    const [name, hash, ...rest] = vkey.split("+");
    const b64 = rest.join("+");
    expect(name).toBe(key.noteName);
    expect(hash).toMatch(/^[0-9a-f]{8}$/);
    expect(hash).toBe(toHex(noteKeyHash(key.noteName, key.publicKey)));
    expect(b64).toBe(toBase64(new Uint8Array([1, ...key.publicKey])));
    expect(parseVerifierKey(vkey)).toEqual({ name: key.noteName, publicKey: key.publicKey });
  });

  it.each([
    ["wrong hash", (v: string) => v.replace(/\+[0-9a-f]{8}\+/, "+00000000+")],
    ["uppercase hash", (v: string) => v.replace(/\+([0-9a-f]{8})\+/, (_m, h: string) => `+${h.toUpperCase()}+`)],
    ["wrong algorithm byte", () => `${key.noteName}+${toHex(noteKeyHash(key.noteName, key.publicKey))}+${toBase64(new Uint8Array([2, ...key.publicKey]))}`],
    ["missing part", (v: string) => v.split("+").slice(0, 2).join("+")],
    ["extra part", (v: string) => `${v}+x`],
    ["space in the name", (v: string) => `a ${v}`],
    ["truncated key", (v: string) => v.slice(0, -4)],
  ])("rejects %s", (_name, corrupt) => {
    const vkey = formatVerifierKey(key.noteName, key.publicKey);
    const bad = corrupt(vkey);
    expect(bad).not.toBe(vkey);
    expect(parseVerifierKey(bad)).toBeUndefined();
  });

  it("round-trips keys whose base64 contains '+' (property over seeds)", () => {
    let withPlus = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const k = createFixtureKey(seed, "example.com/log");
        const vkey = formatVerifierKey(k.noteName, k.publicKey);
        if (vkey.split("+").length > 3) withPlus++;
        expect(parseVerifierKey(vkey)).toEqual({ name: k.noteName, publicKey: k.publicKey });
      }),
      { numRuns: 200 },
    );
    expect(withPlus).toBeGreaterThan(0);
  });

  it("validates key names", () => {
    expect(isValidKeyName("example.com/log")).toBe(true);
    expect(isValidKeyName("")).toBe(false);
    expect(isValidKeyName("a b")).toBe(false);
    expect(isValidKeyName("a+b")).toBe(false);
    expect(isValidKeyName("a\u2003b")).toBe(false);
    expect(isValidKeyName("a\ud800")).toBe(false);
  });
});

describe("checkpoint body (C2SP tlog-checkpoint)", () => {
  const root = toBase64(new Uint8Array(32).fill(1));
  const head = toBase64(new Uint8Array(32).fill(2));

  it("formats origin, size, root and the annal-chain-head extension line", () => {
    const body = formatCheckpointBody({ origin: "annal.example/log", treeSize: 5, rootHash: root, chainHead: head });
    expect(body).toBe(`annal.example/log\n5\n${root}\nannal-chain-head ${head}\n`);
    expect(parseCheckpointBody(body)).toEqual({ origin: "annal.example/log", treeSize: 5, rootHash: root, chainHead: head });
    expect(formatCheckpointBody({ origin: "o", treeSize: 0, rootHash: root })).toBe(`o\n0\n${root}\n`);
  });

  it("ignores unknown extension lines but not a repeated chain head", () => {
    expect(parseCheckpointBody(`o\n1\n${root}\nother ext\n`)).toEqual({ origin: "o", treeSize: 1, rootHash: root });
    expect(parseCheckpointBody(`o\n1\n${root}\nannal-chain-head ${head}\nannal-chain-head ${head}\n`)).toBeUndefined();
  });

  it.each([
    ["leading zero size", `o\n01\n${root}\n`],
    ["negative size", `o\n-1\n${root}\n`],
    ["unsafe size", `o\n9007199254740993\n${root}\n`],
    ["short root", `o\n1\nAAAA\n`],
    ["no trailing newline", `o\n1\n${root}`],
    ["missing root", "o\n1\n"],
    ["bad chain head", `o\n1\n${root}\nannal-chain-head AAAA\n`],
    ["empty origin", `\n1\n${root}\n`],
  ])("rejects %s", (_name, body) => {
    expect(parseCheckpointBody(body)).toBeUndefined();
  });

  it("refuses to format an invalid checkpoint", () => {
    expect(() => formatCheckpointBody({ origin: "a b", treeSize: 1, rootHash: root })).toThrow(RangeError);
    expect(() => formatCheckpointBody({ origin: "o", treeSize: -1, rootHash: root })).toThrow(RangeError);
    expect(() => formatCheckpointBody({ origin: "o", treeSize: 1.5, rootHash: root })).toThrow(RangeError);
  });
});

// 68 signature bytes end in one '=' whose hidden 2 bits must be zero; set one of them.
function nonCanonicalSignatureNote(): string {
  const note = signNote(key, "t\n");
  const b64 = note.slice(note.lastIndexOf(" ") + 1, -1);
  const last = b64.at(-2)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const tweaked = `${b64.slice(0, -2)}${alphabet[alphabet.indexOf(last) ^ 1]}=`;
  return note.replace(b64, tweaked);
}
