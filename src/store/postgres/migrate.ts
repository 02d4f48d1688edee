import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import type pg from "pg";
import { LedgerError } from "../../core/index.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
// Any constant works as long as every Annal instance uses the same one.
const MIGRATION_LOCK_ID = 0x616e6e61; // "anna"

/** Loads the versioned SQL files shipped with this build, in order. */
export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(new URL(file, dir), "utf8");
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

/**
 * Applies pending migrations under a session advisory lock, so two instances starting
 * together never migrate at once (the second waits, then finds nothing to do). Refuses
 * to run if a migration already applied was edited since, or if the database is ahead
 * of this build.
 */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<MigrationResult> {
  const wanted = migrations ?? (await loadMigrations());
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    await client.query("CREATE SCHEMA IF NOT EXISTS annal");
    await client.query(`CREATE TABLE IF NOT EXISTS annal.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      "SELECT version, name, checksum FROM annal.schema_migrations ORDER BY version",
    );
    const known = new Map(wanted.map((m) => [m.version, m]));
    for (const row of rows) {
      const mine = known.get(row.version);
      if (!mine) {
        throw new LedgerError("ERR_MIGRATION_CHANGED", `database has migration ${row.version} (${row.name}) that this build does not know: upgrade Annal`);
      }
      if (mine.checksum !== row.checksum) {
        throw new LedgerError(
          "ERR_MIGRATION_CHANGED",
          `migration ${row.version} (${row.name}) was edited after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${mine.checksum.slice(0, 12)}… in this build); add a new migration instead`,
        );
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: Migration[] = [];
    for (const m of wanted) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO annal.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, m.checksum]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new LedgerError("ERR_INTERNAL", `migration ${m.version} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(m);
    }
    return { applied, current: Math.max(0, ...wanted.map((m) => m.version)) };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]).catch(() => undefined);
    client.release();
  }
}

/** True when every migration of this build is applied (readiness). */
export async function isMigrated(pool: pg.Pool, migrations?: Migration[]): Promise<boolean> {
  const wanted = migrations ?? (await loadMigrations());
  try {
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM annal.schema_migrations");
    return Number(rows[0]?.n ?? 0) >= wanted.length;
  } catch {
    return false;
  }
}
