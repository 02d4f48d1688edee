import pg from "pg";
import { createClient } from "../../src/store/postgres/pool.js";
import type { TestAnnal } from "./annal.js";

/** A connect() for follower leases on the test ledger's database, as the application role. */
export function leaseConnector(annal: TestAnnal): () => pg.Client {
  return () => createClient({ connectionString: annal.databaseUrl, role: annal.config.databaseRole, applicationName: "annal-test-follower" });
}

/** Polls `check` until it holds or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(read: () => Promise<T> | T, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `work` as the superuser with triggers off (session_replication_role = replica): how a tamperer edits the log. */
export async function asTamperer(url: string, work: (db: pg.Client) => Promise<void>): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query("SET session_replication_role = replica");
    await work(db);
  } finally {
    await db.end();
  }
}
