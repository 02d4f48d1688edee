import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { strictVerifier, type SignatureVerifier } from "../core/index.js";

/** Ed25519 verification through OpenSSL (several times faster than pure JS), strict about S < L. */
export function createNodeVerifier(): SignatureVerifier {
  const keys = new Map<string, KeyObject>();
  return strictVerifier((publicKey, message, signature) => {
    const id = Buffer.from(publicKey).toString("base64url");
    let key = keys.get(id);
    if (!key) {
      key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: id }, format: "jwk" });
      keys.set(id, key);
    }
    return verify(null, message, key, signature);
  });
}
