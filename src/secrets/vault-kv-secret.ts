import { LedgerError } from "../core/index.js";
import { Secret } from "./secret.js";
import type { SecretProvider } from "./secret-provider.js";

export interface VaultKvOptions {
  /** Vault's address, e.g. https://vault.example.com:8200. */
  address: string;
  /** KV v2 mount (`secret`) and the secret's path under it (`annal/db`). */
  mount: string;
  path: string;
  /** The key inside the secret's data. */
  field: string;
  /** The Vault token: itself a secret, from env: or file: (so a renewed token file is picked up). */
  token: SecretProvider;
  /** Vault Enterprise namespace (X-Vault-Namespace). */
  namespace?: string | undefined;
  /** How long a read is trusted (default 60 s). */
  ttlMs?: number;
  /** One request's bound (default 5 s). */
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

/**
 * `vault-kv:`: one field of a HashiCorp Vault KV version 2 secret, read over Vault's HTTP
 * API (GET /v1/<mount>/data/<path>) with a token. Re-read when the last read is older than
 * the TTL. Vault is called directly rather than through a client library: it is one GET
 * with one header, and the official Node client (node-vault) is unmaintained.
 */
export function createVaultKvSecretProvider(name: string, options: VaultKvOptions): SecretProvider {
  const ttlMs = options.ttlMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? fetch;
  const base = options.address.replace(/\/+$/, "");
  const url = `${base}/v1/${encodePath(options.mount)}/data/${encodePath(options.path)}`;
  const source = `vault-kv:${options.mount}/${options.path}?field=${options.field} at ${base}`;
  let cached: { secret: Secret; readAt: number } | undefined;

  async function read(): Promise<Secret> {
    const token = await options.token.get();
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { "X-Vault-Token": token.reveal(), ...(options.namespace ? { "X-Vault-Namespace": options.namespace } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new LedgerError("ERR_SECRET_UNAVAILABLE", `${name}: Vault at ${base} did not answer`, { cause, retriable: true });
    }
    if (response.status === 403) throw new LedgerError("ERR_CONFIG", `${name}: Vault refused the token (${options.token.source}) for ${options.mount}/${options.path}`);
    if (response.status === 404) throw new LedgerError("ERR_CONFIG", `${name}: no KV v2 secret ${options.mount}/${options.path} in Vault at ${base}`);
    if (!response.ok) throw new LedgerError("ERR_SECRET_UNAVAILABLE", `${name}: Vault answered ${response.status} for ${options.mount}/${options.path}`, { retriable: response.status >= 500 || response.status === 429 });
    const body = (await response.json().catch(() => undefined)) as { data?: { data?: Record<string, unknown> } } | undefined;
    const value = body?.data?.data?.[options.field];
    if (typeof value !== "string" || value === "") throw new LedgerError("ERR_CONFIG", `${name}: Vault secret ${options.mount}/${options.path} has no non-empty string field ${JSON.stringify(options.field)}`);
    cached = { secret: new Secret(name, value), readAt: now() };
    return cached.secret;
  }

  return {
    source,
    get(getOptions = {}) {
      if (!getOptions.fresh && cached !== undefined && now() - cached.readAt < ttlMs) return Promise.resolve(cached.secret);
      return read();
    },
    close: () => options.token.close(),
  };
}

function encodePath(path: string): string {
  return path.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/");
}
