import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLedgerError } from "../../src/core/index.js";
import { loadOrCreateDevKey, type Signer } from "../../src/keys/index.js";
import { createPostgresLedger, registerSigningKey, type Ledger, type Receipt } from "../../src/ledger/index.js";
import { createDatabaseGate, type DatabaseGate } from "../../src/ledger/database-gate.js";
import { migrate } from "../../src/store/postgres/migrate.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { startBlackholeProxy, type BlackholeProxy } from "../support/blackhole-proxy.js";
import { createTestDatabase } from "../support/services.js";

// What an append answers when the database stops answering depends on what was sent.
// The batch writes go through a proxy whose answers the test can hold back: the
// statement reaches PostgreSQL and takes effect, and Annal never hears of it. Reads go
// direct, so the ledger takes the optimistic path (one autocommitted statement) once it
// knows the head, and the locked path (BEGIN ... COMMIT) after a failure.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let home: string;
let proxy: BlackholeProxy;
let pool: pg.Pool;
let writePool: pg.Pool;
let signer: Signer;
let ledger: Ledger;
let gate: DatabaseGate;

beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(join(tmpdir(), "annal-outcome-"));
  const admin = createPool({ connectionString: db.url, max: 1 });
  await migrate(admin);
  ({ signer } = await loadOrCreateDevKey(join(home, "key.pem"), "test/outcome", 0));
  await registerSigningKey(admin, signer);
  await admin.end();
  const url = new URL(db.url);
  proxy = await startBlackholeProxy(Number(url.port));
  url.port = String(proxy.port);
  const bounded = { connectTimeoutMs: 500, statementTimeoutMs: 800 };
  pool = createPool({ connectionString: db.url, ...bounded });
  writePool = createPool({ connectionString: url.toString(), max: 3, ...bounded });
  gate = createDatabaseGate({ probe: () => pool.query("SELECT 1") });
  ledger = createPostgresLedger({ pool, writePool, signer, gate }, { origin: "test/outcome", appendTimeoutMs: 5000 });
});

afterAll(async () => {
  await ledger?.close();
  gate?.close();
  await signer?.close();
  await writePool?.end();
  await pool?.end();
  await proxy?.close();
  await db?.drop();
  await rm(home, { recursive: true, force: true });
});

const request = (key: string) => ({ streamId: "outcome-1", idempotencyKey: key, principal: "tester", events: [{ type: "Tick", data: { key } }] });

async function rowsFor(key: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM annal.payloads WHERE data::jsonb->>'key' = $1", [key]);
  return rows[0]!.n;
}

/** As a client does after a 503: the same request again, until the database is back. */
async function retry(key: string): Promise<Receipt> {
  for (let i = 0; ; i++) {
    try {
      return await ledger.append(request(key));
    } catch (error) {
      if (!isLedgerError(error, "ERR_UNAVAILABLE") || i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function failure(promise: Promise<Receipt>): Promise<{ code: string; retriable: boolean }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLedgerError(error)) throw new Error(`expected a LedgerError, got ${String(error)}`);
  return { code: error.code, retriable: error.retriable };
}

describe("an append whose answer does not come back", () => {
  it("given a write that reached the database, answers ERR_OUTCOME_UNKNOWN, and the same key later resolves to the one committed append", async () => {
    await ledger.append(request("warm-up")); // the ledger now knows the head: the next batch is optimistic

    proxy.hold("answers");
    expect(await failure(ledger.append(request("lost-answer")))).toEqual({ code: "ERR_OUTCOME_UNKNOWN", retriable: true });
    proxy.restore();

    // It did commit: the answer was lost, not the write.
    expect(await rowsFor("lost-answer")).toBe(1);
    const retried = await retry("lost-answer");
    expect(await rowsFor("lost-answer")).toBe(1);
    const stored = await pool.query<{ position: number }>("SELECT position FROM annal.payloads WHERE data::jsonb->>'key' = $1", ["lost-answer"]);
    expect(retried.events[0]!.position).toBe(stored.rows[0]!.position);
  });

  it("given a transaction whose COMMIT was never sent, answers ERR_UNAVAILABLE, and nothing was written", async () => {
    proxy.hold("answers");
    expect(await failure(ledger.append(request("lost-again")))).toEqual({ code: "ERR_OUTCOME_UNKNOWN", retriable: true });
    // The gate reopens as soon as its probe (on the direct pool) answers; after a failure
    // the ledger plans under the head lock: BEGIN ... COMMIT, whose answers are held.
    while (!gate.available) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await failure(ledger.append(request("never-committed")))).toEqual({ code: "ERR_UNAVAILABLE", retriable: true });
    proxy.restore();
    expect(await rowsFor("lost-again")).toBe(1);
    expect(await rowsFor("never-committed")).toBe(0);
    // The key is free: the retry appends it, once.
    await retry("never-committed");
    expect(await rowsFor("never-committed")).toBe(1);
  });
});
