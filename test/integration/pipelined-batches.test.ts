import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { createChainVerifier, sha256, verifyEd25519, type EventRecord } from "../../src/core/index.js";
import { planBatch, prepareEvents, type BatchPlan, type ChainState, type QueuedAppend } from "../../src/ledger/batch-plan.js";
import { isHeadConflict, readHead, writePlan } from "../../src/ledger/batch-store.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";

// The sequencer sends batch N+1, planned on batch N's head, while N is still committing.
// The batch statement's guard must then make N+1 wait for N on the chain-head row and land
// right after it: a guard that fails such a batch sends every pipelined batch down the
// locked path, and makes the next batches read every stream head again.
describe("pipelined append batches", () => {
  let annal: TestAnnal | undefined;
  afterEach(async () => {
    await annal?.close();
    annal = undefined;
  });

  function queued(streamId: string, data: number): QueuedAppend {
    const request = { streamId, events: [{ type: "Placed", data }] };
    return { request, principal: "alice", prepared: prepareEvents(request, { randomBytes: (n) => new Uint8Array(n).fill(data % 256), randomUUID: () => crypto.randomUUID(), hash: sha256 }) };
  }

  async function planOn(base: ChainState, streamId: string, data: number, version: number, lastHash: Uint8Array): Promise<BatchPlan> {
    const streams = new Map([[streamId, { version, lastHash }]]);
    return planBatch({ signer: annal!.signer, origin: annal!.config.origin, recordedAt: new Date().toISOString(), hash: sha256 }, base, streams, [queued(streamId, data)], new Map(), new Set());
  }

  it("a batch sent while the batch it extends is uncommitted waits for it and lands after it", async () => {
    annal = await startTestAnnal();
    const first = await annal.ledger.append({ streamId: "p", events: [{ type: "Placed", data: 0 }] });
    const base = await readHead(annal.pool);
    const streamHash = Buffer.from(first.events[0]!.hash, "base64");
    const a = await planOn(base, "p", 1, 1, streamHash);
    const b = await planOn(a.head, "p", 2, 2, a.events[0]!.hash);

    const one = new pg.Client({ connectionString: annal.databaseUrl });
    const two = new pg.Client({ connectionString: annal.databaseUrl });
    await Promise.all([one.connect(), two.connect()]);
    try {
      await one.query("BEGIN");
      await writePlan(one, a, base, true);
      // A holds the head row: B's statement waits for it instead of failing its guard.
      let settled = false;
      const landed = writePlan(two, b, a.head, true).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBe(false);
      await one.query("COMMIT");
      await landed;
    } finally {
      await Promise.all([one.end(), two.end()]);
    }
    expect((await readHead(annal.pool)).position).toBe(3);
    await expectChainVerifies(annal);
  });

  it("a batch that reaches the head row before the batch it extends is refused whole, and lands when sent again after it", async () => {
    annal = await startTestAnnal();
    await annal.ledger.append({ streamId: "q", events: [{ type: "Placed", data: 0 }] });
    const base = await readHead(annal.pool);
    const stream = await annal.pool.query<{ last_hash: Buffer }>("SELECT last_hash FROM annal.streams WHERE stream_id = 'q'");
    const a = await planOn(base, "q", 1, 1, stream.rows[0]!.last_hash);
    const b = await planOn(a.head, "q", 2, 2, a.events[0]!.hash);

    const early = await writePlan(annal.pool, b, a.head, true).then(() => undefined, (error: unknown) => error);
    expect(isHeadConflict(early)).toBe(true);
    // Nothing of B landed: no event, no stream head, no checkpoint; the head is unmoved.
    const counts = await annal.pool.query<{ events: string; checkpoints: string; version: string }>(
      "SELECT (SELECT count(*) FROM annal.events) AS events, (SELECT count(*) FROM annal.checkpoints) AS checkpoints, (SELECT version FROM annal.streams WHERE stream_id = 'q') AS version",
    );
    expect(counts.rows[0]).toEqual({ events: 1, checkpoints: 1, version: 1 });
    expect(await readHead(annal.pool)).toEqual(base);

    await writePlan(annal.pool, a, base, true);
    await writePlan(annal.pool, b, a.head, true);
    expect((await readHead(annal.pool)).position).toBe(3);
    await expectChainVerifies(annal);
  });

  it("under 64 concurrent writers no batch loses a race on one instance: none goes down the locked path after the first", async () => {
    annal = await startTestAnnal({ ANNAL_MAX_BATCHES_IN_FLIGHT: "3" });
    const ledger = annal.ledger;
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        while (next < 3000) {
          const i = next++;
          await ledger.append({ streamId: `w-${w % 40}`, events: [{ type: "Placed", data: i }] });
        }
      }),
    );
    const stats = ledger.stats;
    expect(stats.conflicts).toBe(0);
    expect(stats.lockedBatches).toBe(1);
    expect(stats.optimisticBatches).toBeGreaterThan(10);
    expect((await readHead(annal.pool)).position).toBe(3000);
    await expectChainVerifies(annal);
  });
});

/** Every event of the log, read back in order, links and verifies. */
async function expectChainVerifies(annal: TestAnnal): Promise<void> {
  const verifier = createChainVerifier({ publicKeys: new Map([[annal.signer.keyId, annal.signer.publicKey]]), verifySignature: verifyEd25519 });
  let count = 0;
  for (let from = 1; ; ) {
    const page: EventRecord[] = await annal.reader.readRange(from, from + 999);
    for (const event of page) {
      expect(verifier.push(event), `position ${event.position}`).toEqual({ ok: true });
      count++;
    }
    if (page.length < 1000) break;
    from += 1000;
  }
  expect(count).toBe((await readHead(annal.pool)).position);
}
