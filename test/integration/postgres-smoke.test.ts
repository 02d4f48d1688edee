import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/services.js";

// The suite's Postgres is real: a committed transaction is visible to another session, an open one is not.
describe("postgres smoke", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let writer: pg.Client;
  let reader: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    writer = new pg.Client({ connectionString: db.url });
    reader = new pg.Client({ connectionString: db.url });
    await writer.connect();
    await reader.connect();
    await writer.query("CREATE TABLE entries (id bigint PRIMARY KEY, note text NOT NULL)");
  });

  afterAll(async () => {
    await writer?.end().catch(() => undefined);
    await reader?.end().catch(() => undefined);
    await db?.drop();
  });

  it("makes a transaction visible to a second connection only once it commits", async () => {
    await writer.query("BEGIN");
    await writer.query("INSERT INTO entries (id, note) VALUES (1, 'first'), (2, 'second')");
    const before = await reader.query("SELECT count(*)::int AS n FROM entries");
    expect(before.rows[0].n).toBe(0);

    await writer.query("COMMIT");
    const after = await reader.query<{ id: string; note: string }>("SELECT id, note FROM entries ORDER BY id");
    expect(after.rows).toEqual([{ id: "1", note: "first" }, { id: "2", note: "second" }]);
  });

  it("gives each test database its own name on a server that allows many connections", async () => {
    const { rows } = await reader.query<{ db: string; max: string }>("SELECT current_database() AS db, current_setting('max_connections') AS max");
    expect(rows[0]!.db).toBe(db.name);
    expect(Number(rows[0]!.max)).toBeGreaterThanOrEqual(200);
  });
});
