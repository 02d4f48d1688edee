export { createKeySigner, loadKeyFile, loadOrCreateDevKey, parsePkcs8Pem } from "./file-key.js";
export type { Signer } from "./signer.js";
