import {
  concatBytes,
  equalBytes,
  formatSignatureLine,
  fromBase64,
  isValidKeyName,
  parseNote,
  sha256,
  strictVerifier,
  toBase64,
  toHex,
  utf8,
  verifyEd25519,
  type SignatureVerifier,
} from "../core/index.js";
import { fail } from "./result.js";

// C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), Ed25519 "cosignature/v1":
//   key hash  = SHA-256(name || "\n" || 0x04 || public key)[:4]
//   message   = "cosignature/v1\n" || "time " || decimal(t) || "\n" || checkpoint body
//   signature = key hash (4) || u64 big-endian t (8) || Ed25519 signature (64)
// A cosignature is a signed-note signature line, appended to the checkpoint's note.

export const COSIGNATURE_ALGORITHM = 0x04;

export interface CosignerKey {
  name: string;
  publicKey: Uint8Array;
}

export function cosignatureKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8(name), new Uint8Array([0x0a, COSIGNATURE_ALGORITHM]), publicKey).subarray(0, 4);
}

/** `name+hash+base64(0x04 || key)`: the vkey form C2SP gives cosigner keys. */
export function formatCosignerVerifierKey(name: string, publicKey: Uint8Array): string {
  return `${name}+${toHex(cosignatureKeyHash(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([COSIGNATURE_ALGORITHM]), publicKey))}`;
}

export function parseCosignerVerifierKey(vkey: string): CosignerKey | undefined {
  // Split at the first two '+' only: the base64 key may contain '+'.
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (second < 0) return undefined;
  const name = vkey.slice(0, first);
  const key = fromBase64(vkey.slice(second + 1));
  if (!isValidKeyName(name) || key?.length !== 33 || key[0] !== COSIGNATURE_ALGORITHM) return undefined;
  const publicKey = key.slice(1);
  return toHex(cosignatureKeyHash(name, publicKey)) === vkey.slice(first + 1, second) ? { name, publicKey } : undefined;
}

/** The bytes a cosigner signs for checkpoint `body` (ending in its last newline) at `timestamp` (POSIX seconds). */
export function cosignedMessage(body: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError("timestamp must be a non-negative safe integer");
  return utf8(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

/** Signs `body` as the cosigner and returns the note signature line (ending in "\n"). */
export function cosign(body: string, cosigner: CosignerKey & { sign(message: Uint8Array): Uint8Array }, timestamp: number): string {
  return cosignatureLine(cosigner, timestamp, cosigner.sign(cosignedMessage(body, timestamp)));
}

/** The note signature line of a cosignature: `signature` is the cosigner's Ed25519 signature of cosignedMessage(body, timestamp). */
export function cosignatureLine(cosigner: CosignerKey, timestamp: number, signature: Uint8Array): string {
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setBigUint64(0, BigInt(timestamp));
  return formatSignatureLine({ name: cosigner.name, keyHash: cosignatureKeyHash(cosigner.name, cosigner.publicKey), signature: concatBytes(stamp, signature) });
}

export type CosignatureResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/** Finds and verifies `cosigner`'s cosignature in a signed note (checkpoint + signature lines). */
export function verifyCosignature(note: string, cosigner: CosignerKey, options: { verifySignature?: SignatureVerifier } = {}): CosignatureResult {
  const parsed = parseNote(note);
  if (!parsed) return fail("note is malformed");
  const keyHash = cosignatureKeyHash(cosigner.name, cosigner.publicKey);
  const line = parsed.signatures.find((s) => s.name === cosigner.name && equalBytes(s.keyHash, keyHash));
  if (!line) return fail(`no cosignature by ${cosigner.name}`);
  if (line.signature.length !== 72) return fail("cosignature is not 8 timestamp bytes and 64 signature bytes");
  const timestamp = new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return fail("cosignature timestamp is out of range");
  const verify = options.verifySignature ? strictVerifier(options.verifySignature) : verifyEd25519;
  const ok = verify(cosigner.publicKey, cosignedMessage(parsed.text, Number(timestamp)), line.signature.subarray(8));
  return ok ? { ok: true, timestamp: Number(timestamp) } : fail(`cosignature by ${cosigner.name} does not verify`);
}
