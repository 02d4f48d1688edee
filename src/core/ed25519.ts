import { ed25519 } from "@noble/curves/ed25519.js";

/** Verifies an Ed25519 signature. Adapters pass a native one (node:crypto, WebCrypto). */
export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

// L = 2^252 + 27742317777372353535851937790883648493, the order of the Ed25519 base point.
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/**
 * RFC 8032 section 5.1.7: S must be below L. A signature with S >= L verifies in some
 * libraries and is a second spelling of the same signature (malleability), so it is
 * refused here before any library sees it.
 */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  return s < L;
}

/** Pure-JS strict verification (noble, ZIP-215 off): for browsers and tests. */
export const verifyEd25519: SignatureVerifier = (publicKey, message, signature) => {
  if (publicKey.length !== 32 || !isCanonicalSignature(signature)) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
};

/** Wraps a native verifier so that it, too, refuses non-canonical S. */
export function strictVerifier(verify: SignatureVerifier): SignatureVerifier {
  return (publicKey, message, signature) => publicKey.length === 32 && isCanonicalSignature(signature) && verify(publicKey, message, signature);
}
