export { createKeySigner, loadKeyFile, loadOrCreateDevKey, parsePkcs8Pem } from "./file-key.js";
export { loadSignerUri } from "./load-signer-uri.js";
export type { Signer } from "./signer.js";
