import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { loadMigrations, migrate } from "../../src/store/postgres/migrate.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { createTestDatabase } from "../support/services.js";
import { runCli } from "../support/processes.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshPool() {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 4 });
  cleanups.push(() => db.drop(), () => pool.end());
  return { db, pool };
}

describe("migrations", () => {
  it("given two instances starting at once, applies each migration exactly once", async () => {
    const { pool, db } = await freshPool();
    const other = createPool({ connectionString: db.url, max: 2 });
    cleanups.push(() => other.end());
    const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
    const wanted = await loadMigrations();
    expect(a.applied.length + b.applied.length).toBe(wanted.length);
    const { rows } = await pool.query<{ version: number }>("SELECT version FROM annal.schema_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(wanted.map((m) => m.version));
  });

  it("given an applied migration edited since, refuses to start with ERR_MIGRATION_CHANGED", async () => {
    const { pool } = await freshPool();
    const migrations = await loadMigrations();
    await migrate(pool, migrations);
    const edited = migrations.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: "0".repeat(64) } : m));
    await expect(migrate(pool, edited)).rejects.toMatchObject({ code: "ERR_MIGRATION_CHANGED" });
  });

  it("given a database ahead of this build, refuses with ERR_MIGRATION_CHANGED", async () => {
    const { pool } = await freshPool();
    await migrate(pool);
    await pool.query("INSERT INTO annal.schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
    await expect(migrate(pool)).rejects.toMatchObject({ code: "ERR_MIGRATION_CHANGED" });
  });

  it("annal migrate applies them from the command line and is idempotent", async () => {
    const { db } = await freshPool();
    const first = await runCli(["migrate", "--database-url", db.url]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied 1 events/);
    const second = await runCli(["migrate", "--database-url", db.url]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/up to date/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM annal.chain_head");
    await client.end();
    expect(Number(rows[0]!.n)).toBe(1);
  });
});
