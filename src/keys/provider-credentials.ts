import { readFileSync } from "node:fs";
import { LedgerError } from "../core/index.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The Vault token of the `vault-transit:` provider: VAULT_TOKEN, else the file named by
 * VAULT_TOKEN_FILE (re-read on every call, so a renewed token is used without a restart).
 * The one place key providers read a credential: the credential providers of src/secrets
 * replace it when they land.
 */
export function vaultToken(env: Env): string {
  if (env.VAULT_TOKEN) return env.VAULT_TOKEN;
  if (env.VAULT_TOKEN_FILE) {
    try {
      return readFileSync(env.VAULT_TOKEN_FILE, "utf8").trim();
    } catch (cause) {
      throw new LedgerError("ERR_CONFIG", `cannot read VAULT_TOKEN_FILE ${env.VAULT_TOKEN_FILE}`, { cause: new Error((cause as NodeJS.ErrnoException).code ?? "read failed") });
    }
  }
  throw new LedgerError("ERR_CONFIG", "the vault-transit: signing key needs a Vault token: set VAULT_TOKEN or VAULT_TOKEN_FILE");
}
