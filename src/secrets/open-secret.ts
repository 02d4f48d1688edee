import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LedgerError } from "../core/index.js";
import { createEnvSecretProvider } from "./env-secret.js";
import { createFileSecretProvider } from "./file-secret.js";
import type { SecretProvider } from "./secret-provider.js";
import { createVaultKvSecretProvider } from "./vault-kv-secret.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface OpenSecretOptions {
  env?: Env;
  /** file: how often a file is stat-ed for changes (default 1000 ms). */
  fileCheckIntervalMs?: number;
}

/** The schemes a secret setting may use; a setting holds a URI, never the value itself. */
export const SECRET_SCHEMES = ["env:", "file:", "vault-kv:"] as const;

/** Whether `uri` names where a secret comes from (as opposed to being a value pasted in). */
export function isSecretUri(uri: string): boolean {
  return SECRET_SCHEMES.some((scheme) => uri.startsWith(scheme));
}

/**
 * Opens the provider a secret URI names:
 *
 * - `env:NAME`: the environment variable NAME (static: read once per process, in effect).
 * - `file:/path` or `file:///path`: a file only its owner may read; re-read when it changes.
 * - `vault-kv:<mount>/<path>?field=<key>[&addr=<url>][&token=<env:|file: URI>][&ttl=<seconds>][&namespace=<ns>]`:
 *   a field of a Vault KV v2 secret; `addr` defaults to VAULT_ADDR, `token` to `env:VAULT_TOKEN`,
 *   `ttl` to 60.
 *
 * @example
 * const password = openSecretProvider("ANNAL_DB_PASSWORD", "file:/run/secrets/annal-db-password");
 * const secret = await password.get(); // secret.reveal() only where a client needs it
 */
export function openSecretProvider(name: string, uri: string, options: OpenSecretOptions = {}): SecretProvider {
  const env = options.env ?? process.env;
  if (uri.startsWith("env:")) return createEnvSecretProvider(name, uri.slice(4), env);
  if (uri.startsWith("file:")) {
    return createFileSecretProvider(name, filePath(name, uri), options.fileCheckIntervalMs === undefined ? {} : { checkIntervalMs: options.fileCheckIntervalMs });
  }
  if (uri.startsWith("vault-kv:")) return openVaultKv(name, uri.slice("vault-kv:".length), env, options);
  throw new LedgerError("ERR_CONFIG", `${name} must be a secret URI (${SECRET_SCHEMES.join(", ")}), not a value: e.g. ${name}=file:/run/secrets/${name.toLowerCase()}`);
}

function filePath(name: string, uri: string): string {
  let path: string;
  try {
    path = uri.startsWith("file://") ? fileURLToPath(uri) : decodeURIComponent(uri.slice("file:".length));
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `${name}: ${uri} is not a file: URI`, { cause });
  }
  if (path === "") throw new LedgerError("ERR_CONFIG", `${name}: file: needs a path`);
  return isAbsolute(path) ? path : resolve(path);
}

function openVaultKv(name: string, rest: string, env: Env, options: OpenSecretOptions): SecretProvider {
  const [pathPart = "", query = ""] = rest.split("?", 2);
  const params = new URLSearchParams(query);
  const segments = pathPart.split("/").filter((s) => s !== "");
  const field = params.get("field");
  if (segments.length < 2 || !field) throw new LedgerError("ERR_CONFIG", `${name}: vault-kv: needs <mount>/<path>?field=<key>, e.g. vault-kv:secret/annal/db?field=password`);
  const address = params.get("addr") ?? env.VAULT_ADDR;
  if (!address || !/^https?:\/\/[^/\s]+/.test(address)) throw new LedgerError("ERR_CONFIG", `${name}: vault-kv: needs Vault's address (addr= or VAULT_ADDR), an http(s) URL`);
  const tokenUri = params.get("token") ?? "env:VAULT_TOKEN";
  // The token is read through the same providers, but never from Vault itself.
  if (!tokenUri.startsWith("env:") && !tokenUri.startsWith("file:")) throw new LedgerError("ERR_CONFIG", `${name}: the Vault token must come from env: or file:, got ${tokenUri.split(":")[0]}:`);
  const ttl = params.get("ttl");
  const ttlSeconds = ttl === null ? 60 : Number(ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400) throw new LedgerError("ERR_CONFIG", `${name}: vault-kv: ttl must be whole seconds from 1 to 86400`);
  return createVaultKvSecretProvider(name, {
    address,
    mount: segments[0]!,
    path: segments.slice(1).join("/"),
    field,
    token: openSecretProvider(`${name} (Vault token)`, tokenUri, options),
    namespace: params.get("namespace") ?? env.VAULT_NAMESPACE,
    ttlMs: ttlSeconds * 1000,
  });
}
