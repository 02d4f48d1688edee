import { randomBytes, randomUUID } from "node:crypto";
import type { AnnalCore } from "../../src/annal.js";
import { planBatch, prepareEvents, type ChainState, type QueuedAppend, type StreamState } from "../../src/ledger/batch-plan.js";
import { claimFirstKey, nodeSha256, readHead, writePlan } from "../../src/ledger/batch-store.js";
import { payload } from "./fill-log.js";

/**
 * Fills a log with `events` events fast enough for the 10,000,000-event proof bench: the
 * ledger's own batch planner and writer (prepareEvents, planBatch, writePlan: the same
 * signed events, checkpoints and stored Merkle subtrees as any append), called directly
 * with large batches from one writer, without the request queue, idempotency reads or
 * per-append answers. The next batch is planned (hashed and signed) while the previous
 * one is written. Only for an empty log that nothing else appends to, or (`resume`) one
 * that an earlier fill left, which it fills up to `events`.
 */
export async function bulkFillLog(
  core: Pick<AnnalCore, "pool" | "signer">,
  options: { events: number; origin: string; label: string; batchEvents?: number; appendSize?: number; streamId?: (append: number) => string; resume?: boolean },
): Promise<{ seconds: number; written: number }> {
  const started = performance.now();
  const batchEvents = options.batchEvents ?? 10_000;
  const appendSize = options.appendSize ?? 1000;
  const streamId = options.streamId ?? ((i: number) => `bulk-${i % 400}`);
  const streams = new Map<string, StreamState>();
  let head: ChainState = await readHead(core.pool);
  if (head.position === 0) {
    // As the ledger's first batch does: the key that signs is in force from position 1, so a
    // verifier that follows key windows accepts the log and a later append signs with it.
    await claimFirstKey(core.pool, core.signer, 1);
  } else if (options.resume) {
    // A fill that stopped (its batches are whole transactions): carry on from the committed
    // head and stream heads, as the ledger reads them for every batch.
    const { rows } = await core.pool.query<{ stream_id: string; version: number; last_hash: Buffer }>("SELECT stream_id, version, last_hash FROM annal.streams");
    for (const r of rows) streams.set(r.stream_id, { version: r.version, lastHash: new Uint8Array(r.last_hash) });
  } else {
    throw new Error(`bulkFillLog needs an empty log (this one has ${head.position} events)`);
  }
  // Salts cut from 64 KiB of randomness at a time (one OpenSSL call per 2,048 events, as the
  // ledger's own 4 KiB pool does per 128): a call per salt was 5 % of the fill's main thread.
  let pool = new Uint8Array(0);
  let offset = 0;
  const salt = (n: number) => {
    if (offset + n > pool.length) [pool, offset] = [new Uint8Array(randomBytes(65_536)), 0];
    offset += n;
    return pool.subarray(offset - n, offset);
  };
  const deps = { randomBytes: salt, randomUUID, hash: nodeSha256 };
  const from = head.position;
  let append = 0;
  let written: Promise<void> = Promise.resolve();
  for (let done = head.position; done < options.events; ) {
    const queued: QueuedAppend[] = [];
    for (let n = 0; n < batchEvents && done + n < options.events; append++) {
      const count = Math.min(appendSize, batchEvents - n, options.events - done - n);
      const request = { streamId: streamId(append), events: Array.from({ length: count }, (_, j) => ({ type: "OrderPlaced", data: payload(done + n + j) })) };
      queued.push({ request, principal: "bench", prepared: prepareEvents(request, deps) });
      n += count;
    }
    const plan = await planBatch({ signer: core.signer, origin: options.origin, recordedAt: new Date().toISOString(), hash: nodeSha256 }, head, streams, queued, new Map(), new Set());
    const failed = plan.outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) throw failed.error;
    await written; // the write guard needs the previous batch committed
    const base = head;
    written = writePlan(core.pool, plan, base, true);
    written.catch(() => undefined); // awaited before the next write and at the end
    head = plan.head;
    for (const [id, s] of plan.streams) streams.set(id, s);
    done += plan.events.length;
    if ((done / batchEvents) % 10 === 0 || done === options.events) {
      process.stderr.write(`\rbulk-filling the log for ${options.label}: ${done} / ${options.events} events (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  }
  await written;
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`\rbulk-filled ${options.events - from} events in ${seconds.toFixed(0)} s${" ".repeat(40)}\n`);
  return { seconds, written: options.events - from };
}
