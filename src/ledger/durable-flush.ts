import type pg from "pg";
import { LedgerError } from "../core/index.js";

/** One committed batch waiting to be confirmed durable. */
export interface CommittedBatch {
  /** The chain head position after the batch. */
  position: number;
  /** Called once: with undefined when durable, with the error when that is unknown. */
  settle(failure: LedgerError | undefined): void;
}

export interface DurableFlusher {
  /** Queues a batch that COMMIT returned for (without waiting for the disk). */
  add(batch: CommittedBatch): void;
  /** Resolves when every added batch is settled. */
  idle(): Promise<void>;
}

/**
 * Group commit across batches. Batches commit with synchronous_commit off, so the head
 * lock is released without waiting for the disk and the next batch starts at once. This
 * loop makes one synchronous write (annal.durable_head) per round: its commit record
 * comes after every batch committed so far, and WAL is flushed in order, so when it
 * returns all of them are on disk; only then are they settled (their appends answered).
 * One fsync thus covers every batch that committed during the previous one.
 *
 * `pool` MUST run with synchronous_commit on: its write is what makes batches durable.
 */
export function createDurableFlusher(pool: Pick<pg.Pool, "query">): DurableFlusher {
  let waiting: CommittedBatch[] = [];
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    try {
      while (waiting.length > 0) {
        const round = waiting;
        waiting = [];
        const position = Math.max(...round.map((b) => b.position));
        let failure: LedgerError | undefined;
        try {
          await pool.query("UPDATE annal.durable_head SET position = greatest(position, $1) WHERE id = 1", [position]);
        } catch (error) {
          failure = new LedgerError("ERR_OUTCOME_UNKNOWN", "the append was written but could not be confirmed durable; retry with the same Idempotency-Key", {
            cause: error,
            retriable: true,
          });
        }
        for (const batch of round) batch.settle(failure);
      }
    } finally {
      // Cleared in the same turn as the last emptiness check, so an add() after it always
      // starts a new loop instead of joining one that has already finished.
      running = undefined;
    }
  }

  return {
    add(batch) {
      waiting.push(batch);
      running ??= loop();
    },
    idle: () => running ?? Promise.resolve(),
  };
}
