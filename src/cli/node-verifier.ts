import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { strictVerifier, type SignatureVerifier } from "../core/index.js";

/** Ed25519 verification through OpenSSL (several times faster than pure JS), strict about S < L. */
export function createNodeVerifier(): SignatureVerifier {
  const keys = new Map<string, KeyObject>();
  // Callers pass the same key array for every event: found by identity first, without
  // encoding it (this runs once per event verified).
  const byArray = new WeakMap<Uint8Array, KeyObject>();
  return strictVerifier((publicKey, message, signature) => {
    let key = byArray.get(publicKey);
    if (!key) {
      const id = Buffer.from(publicKey).toString("base64url");
      key = keys.get(id) ?? createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: id }, format: "jwk" });
      keys.set(id, key);
      byArray.set(publicKey, key);
    }
    return verify(null, message, key, signature);
  });
}
