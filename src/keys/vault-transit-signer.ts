import { keyIdOf, LedgerError } from "../core/index.js";
import type { Signer } from "./signer.js";

export interface VaultTransitOptions {
  noteName: string;
  addr: string;
  mount: string;
  key: string;
  namespace?: string | undefined;
  /** Key version to sign with; undefined pins the latest version at open. */
  version?: number | undefined;
  /** Read on every request, so a renewed token is picked up. */
  token: () => string;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Inputs per sign request: a 5,000-event batch goes as a few requests in parallel. */
const CHUNK = 1000;

interface TransitKey {
  type?: string;
  derived?: boolean;
  latest_version?: number;
  keys?: Record<string, { public_key?: string } | number>;
}

/**
 * A Signer over a Vault transit key of type ed25519. Signatures are made by Vault with
 * `batch_input` (one request per ≤1000 messages) and always with one pinned key version:
 * a version rotated in Vault does not change Annal's key silently (Annal rotates with a
 * KeyRotated event, naming the new version in the URI).
 */
export async function openVaultTransitSigner(options: VaultTransitOptions): Promise<Signer> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const base = `${options.addr.replace(/\/+$/, "")}/v1/${options.mount}`;
  const where = `Vault transit key ${options.mount}/${options.key}`;

  // At open, a refusal is configuration to fix (ERR_CONFIG); while signing it is the service
  // refusing (an expired token): ERR_UNAVAILABLE, so an append answers 503, not 500.
  async function call(method: "GET" | "POST", path: string, body?: unknown, atOpen = false): Promise<{ data?: unknown; errors?: string[] }> {
    const headers: Record<string, string> = { "X-Vault-Token": options.token(), "X-Vault-Request": "true" };
    if (options.namespace) headers["X-Vault-Namespace"] = options.namespace;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await doFetch(`${base}/${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      // Never the token; the address is configuration, not a secret.
      throw new LedgerError("ERR_UNAVAILABLE", `${where}: Vault at ${options.addr} did not answer (${(cause as Error).name})`, { cause, retriable: true });
    }
    const json = (await response.json().catch(() => ({}))) as { data?: unknown; errors?: string[] };
    if (response.ok) return json;
    const reason = (json.errors ?? []).join("; ").slice(0, 300) || response.statusText;
    const retriable = response.status === 429 || response.status >= 500;
    const code = atOpen && !retriable ? "ERR_CONFIG" : "ERR_UNAVAILABLE";
    throw new LedgerError(code, `${where}: Vault answered ${response.status}: ${reason}`, { retriable, details: { status: response.status } });
  }

  const key = (await call("GET", `keys/${encodeURIComponent(options.key)}`, undefined, true)).data as TransitKey | undefined;
  if (key?.type !== "ed25519") throw new LedgerError("ERR_CONFIG", `${where} is of type ${key?.type ?? "unknown"}: Annal signs with ed25519 keys only`);
  if (key.derived) throw new LedgerError("ERR_CONFIG", `${where} is a derived key: use a non-derived ed25519 key`);
  const version = options.version ?? key.latest_version ?? 1;
  const entry = key.keys?.[String(version)];
  const publicKey = typeof entry === "object" && entry.public_key ? new Uint8Array(Buffer.from(entry.public_key, "base64")) : undefined;
  if (publicKey?.length !== 32) throw new LedgerError("ERR_CONFIG", `${where} has no version ${version} with an Ed25519 public key`);

  async function signChunk(messages: Uint8Array[]): Promise<Uint8Array[]> {
    const body = { key_version: version, batch_input: messages.map((m) => ({ input: Buffer.from(m).toString("base64") })) };
    const data = (await call("POST", `sign/${encodeURIComponent(options.key)}`, body)).data as { batch_results?: Array<{ signature?: string; error?: string; key_version?: number }> } | undefined;
    const results = data?.batch_results ?? [];
    if (results.length !== messages.length) throw new LedgerError("ERR_UNAVAILABLE", `${where}: Vault answered ${results.length} signatures for ${messages.length} inputs`);
    return results.map((r, i) => {
      const match = /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(r.signature ?? "");
      if (r.error || !match) throw new LedgerError("ERR_UNAVAILABLE", `${where}: Vault did not sign input ${i}: ${(r.error ?? "no signature").slice(0, 200)}`);
      if (Number(match[1]) !== version) throw new LedgerError("ERR_UNAVAILABLE", `${where}: Vault signed with version ${match[1]}, not the pinned ${version}`);
      const signature = new Uint8Array(Buffer.from(match[2]!, "base64"));
      if (signature.length !== 64) throw new LedgerError("ERR_UNAVAILABLE", `${where}: Vault's signature ${i} is not 64 bytes`);
      return signature;
    });
  }

  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    noteName: options.noteName,
    development: false,
    async signMany(messages) {
      const chunks: Uint8Array[][] = [];
      for (let i = 0; i < messages.length; i += CHUNK) chunks.push(messages.slice(i, i + CHUNK));
      return (await Promise.all(chunks.map(signChunk))).flat();
    },
    close: () => Promise.resolve(),
  };
}

