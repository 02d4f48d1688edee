import { fileURLToPath } from "node:url";
import { LedgerError } from "../core/index.js";
import { loadKeyFile } from "./file-key.js";
import type { Signer } from "./signer.js";

/**
 * Opens the signer a key URI names. A stand-in that knows `file:` only (a PKCS#8 PEM
 * Ed25519 key: `file:/run/secrets/next.pem` or `file:///run/secrets/next.pem`); the
 * KeyProvider port's `openSigner` (issue 11, item 1) replaces it with every scheme.
 */
export async function loadSignerUri(uri: string, options: { noteName: string; signWorkers?: number }): Promise<Signer> {
  if (!uri.startsWith("file:")) throw new LedgerError("ERR_CONFIG", `unsupported signing key URI scheme in ${JSON.stringify(uri.split(":")[0])}: only file: is supported here`);
  const path = uri.startsWith("file://") ? fileURLToPath(uri) : decodeURIComponent(uri.slice("file:".length));
  if (path === "") throw new LedgerError("ERR_CONFIG", "a file: signing key URI needs a path");
  return loadKeyFile(path, options.noteName, options.signWorkers ?? 0);
}
