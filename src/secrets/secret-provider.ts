import type { Secret } from "./secret.js";

/**
 * Where a credential comes from. One port, several adapters (env:, file:, vault-kv:, and
 * the in-memory fake); test/unit/secrets/secret-provider-contract.ts is the contract.
 *
 * Rotation: a provider re-reads its source on use, at most `maxAgeMs` after its last read
 * (file: a stat every second, re-read when the file changed; vault-kv: a TTL; env: every
 * call). `get({ fresh: true })` re-reads now (SIGHUP).
 */
export interface SecretProvider {
  /** Where the value is read from, safe to log and show (`file:/run/secrets/db`): never the value. */
  readonly source: string;
  /**
   * The current value.
   * Implementations MUST NOT return a value read longer than their TTL ago, and MUST
   * re-read the source when `fresh` is set.
   * Implementations MUST NOT put the value in an error message or an error's details.
   */
  get(options?: { fresh?: boolean }): Promise<Secret>;
  close(): Promise<void>;
}
