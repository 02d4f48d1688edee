import pg from "pg";
import type { DatabasePassword } from "./rotating-password.js";

// bigint (int8) columns come back as strings by default; every bigint Annal stores is a
// position, version or size below 2^53, so they are parsed as numbers. Per pool, not
// through pg.types.setTypeParser: that is process-global, and another library in the
// same process (Emmett's, in the benchmark) sets its own.
const INT8_OID = 20;
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds 2^53`);
  return n;
}
function getTypeParser(oid: number, format?: "text" | "binary"): (value: string) => unknown {
  if (oid === INT8_OID && format !== "binary") return parseInt8;
  return pg.types.getTypeParser(oid, format ?? "text") as (value: string) => unknown;
}
const annalTypes = { getTypeParser } as unknown as typeof pg.types;

export interface PoolOptions {
  connectionString: string;
  /** Role to SET after connecting (the least-privileged application role), or undefined to keep the login role. */
  role?: string | undefined;
  max?: number;
  applicationName?: string;
  /** Session settings applied at connection start (e.g. synchronous_commit). */
  settings?: Record<string, string>;
  /**
   * Longest wait for a connection: opening one, or waiting for a free one in a full pool.
   * Default 10 s. A stopped server accepts TCP (the kernel does) and then never answers,
   * so without this bound a checkout waits forever.
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for one statement's answer, measured by the client, so it holds when the
   * server is frozen or the network drops packets (a server-side statement_timeout cannot).
   * A statement past it fails with "Query read timeout" and its connection is discarded.
   * Undefined: no bound (migrations).
   */
  statementTimeoutMs?: number | undefined;
  /**
   * The password from a credential provider (ANNAL_DB_PASSWORD): asked for on every new
   * connection, and a pool retires connections opened with an older one (rotating-password.ts).
   * Undefined: the password in the connection string, if any.
   */
  password?: DatabasePassword | undefined;
}

/** A pg pool whose every connection runs as `role` (so the app cannot UPDATE or DELETE the log). */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "annal",
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(options.statementTimeoutMs === undefined ? {} : { query_timeout: options.statementTimeoutMs }),
    types: annalTypes,
    // The role is a startup parameter, not a later SET ROLE: if it does not exist or the
    // login may not assume it, the connection fails instead of silently keeping more rights.
    ...startupOptions(options),
    idleTimeoutMillis: 30_000,
    ...(options.password ? { Client: options.password.Client } : {}),
  });
  if (options.password) {
    const detach = options.password.track(pool);
    const end = pool.end.bind(pool);
    pool.end = (() => {
      detach();
      return end();
    });
  }
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on("error", () => undefined);
  return pool;
}

/**
 * One dedicated connection with the same role, type parsers and settings as createPool:
 * for sessions that must outlive any pooled checkout (a follower's advisory lock, LISTEN).
 * The caller connects it and MUST handle its "error" event.
 */
export function createClient(options: PoolOptions): pg.Client {
  return new (options.password?.Client ?? pg.Client)({
    connectionString: options.connectionString,
    application_name: options.applicationName ?? "annal",
    connectionTimeoutMillis: 10_000,
    types: annalTypes,
    ...startupOptions(options),
  });
}

function startupOptions(options: PoolOptions): { options?: string } {
  const settings = { ...(options.role ? { role: options.role } : {}), ...options.settings };
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_]+$/.test(name) || !/^[A-Za-z0-9_]+$/.test(value)) throw new RangeError(`unsafe connection setting ${name}=${value}`);
  }
  const text = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(" ");
  return text ? { options: text } : {};
}
