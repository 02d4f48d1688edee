import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";

/** Verifies an Ed25519 signature. Adapters pass a native one (node:crypto, WebCrypto). */
export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

// L = 2^252 + 27742317777372353535851937790883648493, the order of the Ed25519 base point.
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;

/**
 * RFC 8032 section 5.1.7: S must be below L. A signature with S >= L verifies in some
 * libraries and is a second spelling of the same signature (malleability), so it is
 * refused here before any library sees it.
 */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  // S < L compared byte by byte from the most significant (S is little-endian): this
  // runs once per event verified, where a BigInt conversion costs several microseconds.
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_BYTES[i]!;
    if (s !== l) return s < l;
  }
  return false; // S = L
}

const L_BYTES = (() => {
  const out = new Uint8Array(32);
  let n = L;
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
})();

// The canonical encodings of the eight points of small order (the torsion subgroup).
// An R among them is refused. A non-canonical R never passes the byte comparison of
// step 5 of the rule, so only canonical spellings need listing.
const SMALL_ORDER_R: readonly Uint8Array[] = (() => {
  const torsion = Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"); // a point of order 8
  const encodings: Uint8Array[] = [];
  let p: EdPoint = Point.ZERO;
  for (let i = 0; i < 8; i++, p = p.add(torsion)) encodings.push(p.toBytes());
  return encodings;
})();

function isSmallOrderEncoding(r: Uint8Array): boolean {
  return SMALL_ORDER_R.some((e) => e[0] === r[0] && e[31] === r[31] && e.every((b, i) => b === r[i]));
}

// Public keys are few and verified millions of times: decode each once (by identity of
// the array first, as callers reuse theirs, then by value).
const decodedKeys = new Map<string, EdPoint | null>();
const decodedByArray = new WeakMap<Uint8Array, EdPoint | null>();

/**
 * The public key as a point, or null when Annal's rule refuses it: a non-canonical
 * encoding (y >= p, or x = 0 with the sign bit set), not on the curve, or of small order.
 */
function acceptedPublicKey(publicKey: Uint8Array): EdPoint | null {
  if (publicKey.length !== 32) return null;
  const known = decodedByArray.get(publicKey);
  if (known !== undefined) return known;
  const id = hex(publicKey);
  let point = decodedKeys.get(id);
  if (point === undefined) {
    try {
      const decoded = Point.fromBytes(publicKey, false);
      point = decoded.isSmallOrder() ? null : decoded;
    } catch {
      point = null;
    }
    if (decodedKeys.size > 1024) decodedKeys.clear();
    decodedKeys.set(id, point);
  }
  decodedByArray.set(publicKey, point);
  return point;
}

/**
 * The checks of Annal's Ed25519 rule that come before the equation (docs/verification.md
 * section 6): 64-byte signature, S < L, R not of small order, A canonical and not of
 * small order. With them and a cofactorless equation compared as bytes, every
 * implementation gives the same verdict (libsodium's `crypto_sign_verify_detached`).
 */
export function passesEd25519Prechecks(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return isCanonicalSignature(signature) && !isSmallOrderEncoding(signature.subarray(0, 32)) && acceptedPublicKey(publicKey) !== null;
}

/**
 * Pure-JS verification under Annal's rule, for browsers and tests: the prechecks, then
 * k = SHA-512(R || A || M) mod L and [S]B - [k]A encoded and compared byte for byte with
 * R (the cofactorless equation of RFC 8032 section 5.1.7 step 3 without the factor 8;
 * noble's own `verify` checks the cofactored one, which accepts signatures that
 * OpenSSL, Go and libsodium refuse).
 */
export const verifyEd25519: SignatureVerifier = (publicKey, message, signature) => {
  if (!passesEd25519Prechecks(publicKey, signature)) return false;
  const A = acceptedPublicKey(publicKey)!;
  const R = signature.subarray(0, 32);
  const S = littleEndian(signature.subarray(32));
  const k = littleEndian(sha512(concat(R, publicKey, message))) % L;
  const check = Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k));
  return hex(check.toBytes()) === hex(R);
};

/**
 * Wraps a native verifier (OpenSSL and WebCrypto compare R as bytes, cofactorless) so
 * that it applies Annal's whole rule: the prechecks first.
 */
export function strictVerifier(verify: SignatureVerifier): SignatureVerifier {
  return (publicKey, message, signature) => passesEd25519Prechecks(publicKey, signature) && verify(publicKey, message, signature);
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
