import { readFileSync } from "node:fs";
import { LedgerError } from "../core/index.js";
import { openAwsKmsSigner } from "./aws-kms-signer.js";
import { createKeySigner, loadKeyFile, parsePkcs8Pem } from "./file-key.js";
import { parseKeyUri } from "./key-uri.js";
import { openPkcs11Signer } from "./pkcs11-signer.js";
import { vaultToken } from "./provider-credentials.js";
import type { Signer } from "./signer.js";
import { openVaultTransitSigner } from "./vault-transit-signer.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface OpenSignerOptions {
  /** Key name in signed notes: the log's origin (or the witness's name). */
  noteName: string;
  /** Worker threads for file/env keys (0: inline) and PKCS#11 sessions (at least 1). */
  signWorkers?: number;
  /** Marks the signer as the development key (production refuses it). */
  development?: boolean;
  /** Where `env:` keys, VAULT_ADDR/VAULT_TOKEN and AWS_REGION/AWS_* are read; default process.env. */
  env?: Env;
  /** Per request to Vault or KMS (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Opens the signing key a URI names (key-uri.ts lists the forms). Every provider answers
 * the same Signer: the ledger calls `signMany` once per batch; verification stays local,
 * with `publicKey`.
 * Errors are LedgerErrors: ERR_CONFIG for a URI, key or credential that cannot work (not
 * retriable), ERR_UNAVAILABLE with `retriable: true` when a service did not answer.
 * No message carries a PIN, a token or key material.
 *
 * @example
 *   const signer = await openSigner("pkcs11:token=annal;object=ledger?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin", { noteName: origin });
 */
export async function openSigner(uri: string, options: OpenSignerOptions): Promise<Signer> {
  const env = options.env ?? process.env;
  const parsed = parseKeyUri(uri);
  const base = { noteName: options.noteName, signWorkers: options.signWorkers ?? 0 };
  switch (parsed.scheme) {
    case "file":
      return withDevelopment(await loadKeyFile(parsed.path, options.noteName, base.signWorkers), options.development);
    case "env": {
      const pem = env[parsed.variable];
      if (!pem) throw new LedgerError("ERR_CONFIG", `env:${parsed.variable}: the environment variable is not set`);
      return createKeySigner(parsePkcs8Pem(pem, `env:${parsed.variable}`), { ...base, development: options.development ?? false });
    }
    case "pkcs11":
      return openPkcs11Signer(parsed.pkcs11, { noteName: options.noteName, signWorkers: Math.max(1, base.signWorkers), readFile: (path) => readFileSync(path, "utf8") });
    case "vault-transit": {
      const addr = parsed.addr ?? env.VAULT_ADDR;
      if (!addr) throw new LedgerError("ERR_CONFIG", "vault-transit: no Vault address: add ?addr=https://vault:8200 to the URI or set VAULT_ADDR");
      return openVaultTransitSigner({
        noteName: options.noteName, addr, mount: parsed.mount, key: parsed.key, namespace: parsed.namespace ?? env.VAULT_NAMESPACE, version: parsed.version,
        token: () => vaultToken(env), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    }
    case "awskms":
      return openAwsKmsSigner({
        noteName: options.noteName, keyId: parsed.keyId, region: parsed.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION, endpoint: parsed.endpoint,
        credentials: awsCredentials(env), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
  }
}

/** Explicit credentials when `env` has them; otherwise the SDK's own chain (roles, SSO). */
function awsCredentials(env: Env): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

function withDevelopment(signer: Signer, development: boolean | undefined): Signer {
  return development ? { ...signer, development } : signer;
}
