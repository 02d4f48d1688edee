export { createKeySigner, loadKeyFile, loadOrCreateDevKey, parsePkcs8Pem } from "./file-key.js";
export { maskKeyUri, parseKeyUri, type KeyUri, type Pkcs11Uri } from "./key-uri.js";
export { openSigner, type OpenSignerOptions } from "./open-signer.js";
export type { Signer } from "./signer.js";
