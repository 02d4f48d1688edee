import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createListeningWakeup, createLogNotifier, readFollowerStatus, startFollower, type FollowerBatch, type FollowerHandler } from "../../src/follower/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { asTamperer, eventually, leaseConnector } from "../support/followers.js";

let annal: TestAnnal;
beforeEach(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
});
afterEach(async () => {
  await annal?.close();
});

async function appendMany(count: number, streams = 5): Promise<void> {
  for (let i = 0; i < count; i++) await annal.ledger.append({ streamId: `s-${i % streams}`, events: [{ type: "Happened", data: { i } }] });
}

/** A handler that records every position it was given, and writes it into a table in the batch's transaction. */
function recorder(): FollowerHandler & { seen: number[] } {
  const seen: number[] = [];
  return {
    seen,
    async handle(batch: FollowerBatch, { tx }) {
      for (const event of batch.events) seen.push(event.position);
      await tx.query("INSERT INTO follower_effects (position) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", [batch.events.map((e) => e.position)]);
    },
  };
}

async function effectsTable(): Promise<void> {
  const db = new pg.Client({ connectionString: annal.adminUrl });
  await db.connect();
  await db.query("CREATE TABLE public.follower_effects (position bigint PRIMARY KEY); GRANT ALL ON public.follower_effects TO annal_app");
  await db.end();
}

describe("the log follower", () => {
  it("hands every committed event over once, in order, and moves its cursor with the effect", async () => {
    await effectsTable();
    await appendMany(30);
    const handler = recorder();
    const follower = startFollower({ pool: annal.pool, connect: leaseConnector(annal) }, { name: "test:all", batchSize: 7, pollIntervalMs: 50 }, handler);
    await eventually(() => handler.seen.length, (n) => n >= 30);
    await appendMany(12);
    follower.wake();
    await eventually(() => handler.seen.length, (n) => n >= 42);
    await follower.stop();
    expect(handler.seen).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    const [status] = await readFollowerStatus(annal.pool, ["test:all"]);
    expect(status).toMatchObject({ position: 42, headPosition: 42, lagEvents: 0, status: "stopped" });
    const { rows } = await annal.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM public.follower_effects");
    expect(rows[0]!.n).toBe(42);
  });

  it("stops at a deleted middle event with an integrity error naming its position, and does not pass it", async () => {
    await effectsTable();
    await appendMany(20);
    await asTamperer(annal.adminUrl, async (db) => {
      await db.query("DELETE FROM annal.payloads WHERE position = 9");
      await db.query("DELETE FROM annal.events WHERE position = 9");
    });
    const handler = recorder();
    const follower = startFollower({ pool: annal.pool, connect: leaseConnector(annal) }, { name: "test:gap", batchSize: 5, pollIntervalMs: 50 }, handler);
    await follower.done;
    expect(follower.state).toBe("failed");
    expect(follower.error).toMatchObject({ code: "ERR_LOG_GAP", details: { position: 9 } });
    expect(Math.max(...handler.seen)).toBe(5);
    const [status] = await readFollowerStatus(annal.pool, ["test:gap"]);
    expect(status).toMatchObject({ status: "failed", position: 5, healthy: false, error: { code: "ERR_LOG_GAP", position: 9 } });
  });

  it("stops at an event whose prevHash was rewritten (a restored or altered row)", async () => {
    await effectsTable();
    await appendMany(10);
    await asTamperer(annal.adminUrl, (db) => db.query("UPDATE annal.events SET prev_hash = sha256('x') WHERE position = 7").then(() => undefined));
    const handler = recorder();
    const follower = startFollower({ pool: annal.pool, connect: leaseConnector(annal) }, { name: "test:link", pollIntervalMs: 50 }, handler);
    await follower.done;
    expect(follower.error).toMatchObject({ code: "ERR_CHAIN_BROKEN", details: { position: 7 } });
    // The whole batch was refused, so nothing of it took effect.
    expect(handler.seen).toEqual([]);
  });

  it("runs one instance per name; the other waits on standby and takes over when the owner goes", async () => {
    await effectsTable();
    await appendMany(10);
    const deps = { pool: annal.pool, connect: leaseConnector(annal) };
    const a = startFollower(deps, { name: "test:one", pollIntervalMs: 50, leaseRetryMs: 50 }, recorder());
    await eventually(() => a.state, (s) => s === "running");
    const handlerB = recorder();
    const b = startFollower(deps, { name: "test:one", pollIntervalMs: 50, leaseRetryMs: 50 }, handlerB);
    await eventually(() => a.cursor?.position ?? 0, (p) => p === 10);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.state).toBe("standby");
    expect(handlerB.seen).toEqual([]);
    await a.stop();
    await appendMany(5);
    await eventually(() => handlerB.seen.length, (n) => n >= 5);
    expect(b.state).toBe("running");
    expect(handlerB.seen).toEqual([11, 12, 13, 14, 15]);
    await b.stop();
  });

  it("refuses a stale owner's cursor write once another instance has fenced it out", async () => {
    await effectsTable();
    await appendMany(3);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inBatch = new Promise<void>((r) => (entered = r));
    // The stale owner stalls inside its batch (a long GC pause, a frozen VM) ...
    const stale = startFollower(
      { pool: annal.pool, connect: leaseConnector(annal) },
      { name: "test:fence", pollIntervalMs: 50, leaseRetryMs: 60_000, backoff: { initialMs: 60_000, maxMs: 60_000 } },
      {
        async handle(batch, { tx }) {
          entered();
          await held;
          await tx.query("INSERT INTO follower_effects (position) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", [batch.events.map((e) => e.position)]);
        },
      },
    );
    await inBatch;
    // ... its lock connection is cut, and a second instance wins the lease (epoch + 1) and moves on.
    const admin = new pg.Client({ connectionString: annal.adminUrl });
    await admin.connect();
    const { rows: killed } = await admin.query<{ ok: boolean }>("SELECT pg_terminate_backend(pid) AS ok FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    expect(killed).toEqual([{ ok: true }]);
    const fresh = recorder();
    const successor = startFollower({ pool: annal.pool, connect: leaseConnector(annal) }, { name: "test:fence", pollIntervalMs: 50, leaseRetryMs: 50 }, fresh);
    await eventually(() => fresh.seen.length, (n) => n >= 3);
    const read = async () => (await admin.query<{ epoch: string; position: string }>("SELECT epoch, position FROM annal.followers WHERE name = 'test:fence'")).rows;
    // The successor's batch has committed: epoch 2 at position 3.
    const before = await eventually(read, (rows) => rows[0]?.position === "3");
    expect(before).toEqual([{ epoch: "2", position: "3" }]);
    release();
    // The stale write is refused: the stale instance goes back to standby, the cursor is the successor's.
    await eventually(() => stale.state, (s) => s === "standby");
    expect(stale.state).toBe("standby");
    expect(await read()).toEqual(before);
    await admin.end();
    await Promise.all([stale.stop(), successor.stop()]);
  });

  it("beats while idle and reports lag in events and seconds apart from the heartbeat", async () => {
    await appendMany(4);
    const follower = startFollower({ pool: annal.pool, connect: leaseConnector(annal) }, { name: "test:beat", pollIntervalMs: 50, heartbeatMs: 100 }, { handle: () => Promise.resolve() });
    await eventually(() => follower.cursor?.position ?? 0, (p) => p === 4);
    await new Promise((r) => setTimeout(r, 400));
    const [running] = await readFollowerStatus(annal.pool, ["test:beat"], 2);
    expect(running).toMatchObject({ status: "running", healthy: true, lagEvents: 0, lagSeconds: 0 });
    expect(running!.heartbeatAgeSeconds!).toBeLessThan(2);
    await follower.stop();
    // Stopped: whatever its last beat, it is not healthy, and new events show as lag.
    await appendMany(2);
    const [stopped] = await readFollowerStatus(annal.pool, ["test:beat"], 2);
    expect(stopped).toMatchObject({ status: "stopped", healthy: false, lagEvents: 2 });
    expect(stopped!.lagSeconds).toBeGreaterThanOrEqual(0);
  });

  it("wakes a listener in another session on NOTIFY, coalescing calls made while one is in flight", async () => {
    const wakeup = createListeningWakeup(leaseConnector(annal));
    try {
      // Listening starts asynchronously; its first wake-up says it is connected.
      await wakeup.wait(30_000);
      const woken = wakeup.wait(60_000).then(() => "woken");
      const notifier = createLogNotifier(annal.pool);
      notifier.notify();
      notifier.notify();
      notifier.notify();
      await notifier.idle();
      // Without the NOTIFY this would wait out its 60 s and fail the test on its timeout.
      expect(await woken).toBe("woken");
    } finally {
      await wakeup.close();
    }
  });
});
