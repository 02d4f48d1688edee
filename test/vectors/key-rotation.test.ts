// The KeyRotated statement's golden bytes (docs/verification.md, "How a verifier follows
// keys"). The test spells the bytes out itself, then checks the core and the verifier
// agree: a failure means the statement format changed.
import { readFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { fromHex, keyRotationStatementBytes, toBase64, toHex, type KeyRotatedData, type KeyRotationStatement } from "../../src/core/index.js";
import { verifyKeyRotation } from "../../src/verify/index.js";

interface KeyRotationVector {
  oldSeedHex: string;
  newSeedHex: string;
  statement: KeyRotationStatement;
  statementText: string;
  statementHex: string;
  newKeySignatureHex: string;
  data: KeyRotatedData;
}

const vector = JSON.parse(readFileSync(new URL("key-rotation.json", import.meta.url), "utf8")) as KeyRotationVector;

describe("KeyRotated statement vector (annal-key-rotation/v1)", () => {
  const hex = (text: string) => fromHex(text)!;
  const oldPublic = ed25519.getPublicKey(hex(vector.oldSeedHex));
  const newPublic = ed25519.getPublicKey(hex(vector.newSeedHex));
  const keyId = (key: Uint8Array) => toHex(sha256(key).subarray(0, 8));

  it("spells out the statement: one 'name value' line per field after the version line", () => {
    const s = vector.statement;
    const text = [
      "annal-key-rotation/v1",
      `origin ${s.origin}`,
      `previous-key-id ${keyId(oldPublic)}`,
      `new-key-id ${keyId(newPublic)}`,
      `new-public-key ${Buffer.from(newPublic).toString("base64")}`,
      `new-note-verifier-key ${s.newNoteVerifierKey}`,
      `from-position ${s.fromPosition}`,
      "",
    ].join("\n");
    expect(text).toBe(vector.statementText);
    expect(Buffer.from(text, "utf8").toString("hex")).toBe(vector.statementHex);
    expect(toHex(keyRotationStatementBytes(s))).toBe(vector.statementHex);
  });

  it("the new key's Ed25519 signature over exactly those bytes, carried in the event data", () => {
    const signature = hex(vector.newKeySignatureHex);
    expect(ed25519.verify(signature, hex(vector.statementHex), newPublic)).toBe(true);
    expect(toHex(ed25519.sign(hex(vector.statementHex), hex(vector.newSeedHex)))).toBe(vector.newKeySignatureHex);
    expect(vector.data).toEqual({ ...vector.statement, newKeySignature: toBase64(signature) });
  });

  it("verifies as the KeyRotated event at position fromPosition - 1, signed by the old key's window", () => {
    const position = vector.statement.fromPosition - 1;
    const record = { position, streamId: "annal:keys", type: "KeyRotated", data: vector.data } as unknown as Parameters<typeof verifyKeyRotation>[0];
    const inForce = { name: vector.statement.origin, publicKey: oldPublic, keyId: keyId(oldPublic), fromPosition: 1 };
    const verdict = verifyKeyRotation(record, inForce);
    expect(verdict).toMatchObject({ ok: true, next: { keyId: keyId(newPublic), fromPosition: vector.statement.fromPosition } });
  });
});
