import { resolve } from "node:path";
import { isValidKeyName, LedgerError } from "./core/index.js";

export interface AnnalConfig {
  env: "development" | "production";
  home: string;
  host: string;
  port: number;
  /** External Postgres; undefined starts the embedded one under `home`. */
  databaseUrl: string | undefined;
  /** Role the service runs as (startup parameter); undefined keeps the login role. */
  databaseRole: string | undefined;
  origin: string;
  signingKeyFile: string | undefined;
  logLevel: string;
  maxBatchEvents: number;
  maxQueuedEvents: number;
  maxBodyBytes: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LedgerError("ERR_CONFIG", `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Typed configuration from the environment. Every setting has an embedded default, so
 * `npm start` needs none; see docs/operations.md for the list.
 */
export function loadConfig(env: Env = process.env): AnnalConfig {
  const envName = env.ANNAL_ENV ?? "development";
  if (envName !== "development" && envName !== "production") {
    throw new LedgerError("ERR_CONFIG", `ANNAL_ENV must be "development" or "production", got ${JSON.stringify(envName)}`);
  }
  const origin = env.ANNAL_ORIGIN ?? "localhost/annal-dev";
  if (!isValidKeyName(origin)) throw new LedgerError("ERR_CONFIG", "ANNAL_ORIGIN must be a non-empty name without spaces or '+', e.g. ledger.example.com/prod");
  const role = env.ANNAL_DB_ROLE === undefined ? "annal_app" : env.ANNAL_DB_ROLE === "" || env.ANNAL_DB_ROLE === "none" ? undefined : env.ANNAL_DB_ROLE;
  if (role !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new LedgerError("ERR_CONFIG", "ANNAL_DB_ROLE must be a lowercase SQL identifier or 'none'");
  return {
    env: envName,
    home: resolve(env.ANNAL_HOME ?? ".annal"),
    host: env.ANNAL_HOST ?? "127.0.0.1",
    port: integer(env, env.ANNAL_PORT !== undefined ? "ANNAL_PORT" : "PORT", 8080, 0, 65535),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseRole: role,
    origin,
    signingKeyFile: env.ANNAL_SIGNING_KEY_FILE || undefined,
    logLevel: env.ANNAL_LOG_LEVEL ?? "info",
    maxBatchEvents: integer(env, "ANNAL_MAX_BATCH_EVENTS", 5000, 1, 100_000),
    maxQueuedEvents: integer(env, "ANNAL_MAX_QUEUED_EVENTS", 100_000, 1, 10_000_000),
    maxBodyBytes: integer(env, "ANNAL_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
  };
}
