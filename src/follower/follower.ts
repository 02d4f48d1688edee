import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import { isLedgerError, LedgerError, type EventRecord } from "../core/index.js";
import { isConnectionError } from "../ledger/batch-store.js";
import { inTransaction } from "../store/postgres/transaction.js";
import { advanceCursor, checkContiguity, type FollowerCursor } from "./contiguity.js";
import { advanceCursorRow, beat, readCursorRow, recordFailure } from "./cursor-store.js";
import { tryAcquireLease, type Lease } from "./lease.js";
import { readCommittedAfter } from "./log-reader.js";
import { createLocalWakeup, type LogWakeup } from "./wakeup.js";

/** A contiguous, linked run of committed events: `events[0].position === from.position + 1`. */
export interface FollowerBatch {
  readonly from: FollowerCursor;
  readonly to: FollowerCursor;
  readonly events: readonly EventRecord[];
}

export interface FollowerContext {
  /** The transaction the cursor moves in: writes made through it commit with the cursor, or not at all. */
  readonly tx: pg.PoolClient;
  /** This owner's fencing epoch. */
  readonly epoch: number;
  /** Aborted when the follower stops or loses its lease. */
  readonly signal: AbortSignal;
}

/**
 * What a follower does with the log. Projections, the Kafka relay and the sealer each
 * implement it; none of them reads the log any other way.
 *
 * `handle` MUST be idempotent: after a crash between an effect outside PostgreSQL and the
 * cursor's commit, the same batch is handled again. It MUST NOT skip an event; it throws
 * to refuse a batch (a LedgerError with `retriable: true`, or a connection error, is
 * retried with backoff; anything else stops the follower as `failed`). A thrown error may
 * name the event in `details.position`.
 */
export interface FollowerHandler {
  /** Called after the lease is won and before the first batch: reconcile with the destination (a topic's tail, a bucket). */
  start?(context: { cursor: FollowerCursor; epoch: number; pool: pg.Pool }): Promise<void>;
  handle(batch: FollowerBatch, context: FollowerContext): Promise<void>;
  /** After the batch's transaction committed (metrics, cut-over checks). Errors here are logged, never retried. */
  committed?(batch: FollowerBatch): Promise<void> | void;
  /** With `sharedCursor`: the stored cursor moved ahead of this follower (inline work applied those events). */
  resync?(cursor: FollowerCursor, context: { pool: pg.Pool }): Promise<void>;
  /** When the follower has caught up with the durable head and is about to wait (periodic work). Errors are logged. */
  idle?(cursor: FollowerCursor): Promise<void> | void;
}

export interface FollowerDeps {
  /** Log reads and the cursor transactions. */
  pool: pg.Pool;
  /** A new, unconnected client for the lease (createClient with the application role). */
  connect: () => pg.Client;
  wakeup?: LogWakeup;
  logger?: Logger;
}

export interface FollowerOptions {
  /** Unique across the database: one active instance per name. */
  name: string;
  /** Most events per batch (one transaction). Default 1000. */
  batchSize?: number;
  /** How long an idle follower waits for a wake-up before looking again. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How often a standby instance tries for the lease. Default 1000 ms. */
  leaseRetryMs?: number;
  /** Least time between heartbeats. Default 1000 ms. */
  heartbeatMs?: number;
  /**
   * True when other work may move this follower's cursor (inline projections advance it
   * in the append transaction): the stored cursor is read before each batch. Default false.
   */
  sharedCursor?: boolean;
  /** False: events are handed over without their payload (`data`, `dataSalt`), read without the payload join. Default true. */
  payloads?: boolean;
  /** Backoff for retriable errors: first and largest delay. Default 100 ms to 10 s. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * After a batch smaller than `batchSize` (the follower has caught up with a live log),
   * wait this long before reading again, so that under load one transaction takes the
   * events of many append batches instead of one each. An idle follower woken by a new
   * batch reads it at once; only the next read waits. Default 20 ms.
   */
  lingerMs?: number;
}

export type FollowerState = "starting" | "standby" | "running" | "paused" | "stopped" | "failed";

export interface Follower {
  readonly name: string;
  readonly state: FollowerState;
  /** The cursor as this instance last committed or read it. */
  readonly cursor: FollowerCursor | undefined;
  /** Why the follower stopped, when it failed. */
  readonly error: LedgerError | undefined;
  /** Resolves when the loop has ended (stopped or failed). */
  readonly done: Promise<void>;
  wake(): void;
  /** Stops after the current batch and releases the lease. */
  stop(): Promise<void>;
}

/**
 * The log follower: reads committed events in position order, never past the durable
 * head, asserts contiguity and the prevHash link, hands each batch to the handler in the
 * transaction that moves its cursor, and never skips. One instance per name runs at a
 * time (an advisory lock plus a fencing epoch); the others wait on standby.
 *
 * @example
 * const follower = startFollower({ pool, connect }, { name: "projection:streams#1" }, handler);
 * await follower.stop();
 */
export function startFollower(deps: FollowerDeps, options: FollowerOptions, handler: FollowerHandler): Follower {
  const { pool, connect } = deps;
  const wakeup = deps.wakeup ?? createLocalWakeup();
  const logger = deps.logger?.child({ follower: options.name });
  const batchSize = options.batchSize ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const leaseRetryMs = options.leaseRetryMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const backoff = options.backoff ?? { initialMs: 100, maxMs: 10_000 };
  // Without it, every append batch cost each follower a read and a committed transaction
  // of its own (an fsync each): under load the followers' commits interleaved with the
  // appends' and doubled their commit wait (issue 12).
  const lingerMs = options.lingerMs ?? 20;
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const stopping = new AbortController();
  let state: FollowerState = "starting";
  let cursor: FollowerCursor | undefined;
  let failure: LedgerError | undefined;

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      let lease: Lease | undefined;
      try {
        lease = await tryAcquireLease(connect, options.name, owner);
      } catch (error) {
        logger?.warn({ err: error }, "could not try for the follower lease; retrying");
      }
      if (lease === undefined) {
        if (state !== "standby") logger?.debug("standby: another instance holds the lease");
        state = "standby";
        await sleep(leaseRetryMs, stopping.signal);
        continue;
      }
      try {
        await follow(lease);
        attempt = 0;
      } catch (error) {
        if (isLedgerError(error, "ERR_FENCED")) {
          logger?.warn({ epoch: lease.epoch }, "fenced out: another instance took over; back to standby");
        } else if (isRetriable(error)) {
          const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
          attempt++;
          logger?.warn({ err: error, position: cursor ? cursor.position + 1 : undefined, retryInMs: delay }, "follower batch failed; retrying");
          await lease.release().catch(() => undefined);
          lease = undefined;
          await sleep(delay, stopping.signal);
          continue;
        } else {
          failure = asLedgerError(error, cursor);
          state = "failed";
          logger?.error({ err: error, code: failure.code, position: failure.details?.["position"] }, "follower stopped on an error; it will not go past this position");
          await recordFailure(lease.client, options.name, lease.epoch, {
            code: failure.code,
            message: failure.message,
            position: numberOrUndefined(failure.details?.["position"]),
          }).catch((recordError: unknown) => logger?.error({ err: recordError }, "could not record the failure"));
          return;
        }
      } finally {
        // A failed follower's row keeps status `failed`: release only ends the session (and the lock).
        if (lease !== undefined) await lease.release().catch(() => undefined);
      }
    }
    state = "stopped";
  }

  async function follow(lease: Lease): Promise<void> {
    cursor = lease.cursor;
    state = "running";
    logger?.info({ epoch: lease.epoch, position: cursor.position }, "lease won; following the log");
    const signal = AbortSignal.any([stopping.signal, abortOn(lease.lost)]);
    await handler.start?.({ cursor, epoch: lease.epoch, pool });
    let lastBeat = Date.now();
    let paused = false;
    while (!signal.aborted) {
      if (Date.now() - lastBeat >= heartbeatMs) {
        ({ paused } = await beat(lease.client, options.name, lease.epoch));
        lastBeat = Date.now();
      }
      if (paused) {
        state = "paused";
        await wakeup.wait(heartbeatMs, signal);
        continue;
      }
      state = "running";
      if (options.sharedCursor === true) {
        const stored = await readCursorRow(pool, options.name, lease.epoch);
        if (stored.position > cursor.position) {
          cursor = stored;
          await handler.resync?.(stored, { pool });
        }
      }
      const events = await readCommittedAfter(pool, cursor.position, batchSize, { payloads: options.payloads ?? true });
      if (events.length === 0) {
        try {
          await handler.idle?.(cursor);
        } catch (error) {
          logger?.warn({ err: error, position: cursor.position }, "idle hook failed");
        }
        await wakeup.wait(Math.min(pollIntervalMs, heartbeatMs), signal);
        continue;
      }
      const verdict = checkContiguity(cursor, events);
      if (!verdict.ok) throw new LedgerError(verdict.code, `follower ${options.name}: ${verdict.reason}`, { details: { position: verdict.position, follower: options.name } });
      let batch: FollowerBatch = { from: cursor, to: advanceCursor(cursor, events), events };
      const commit = (b: FollowerBatch) =>
        inTransaction(pool, async (tx) => {
          await handler.handle(b, { tx, epoch: lease.epoch, signal });
          await advanceCursorRow(tx, options.name, lease.epoch, b.from, b.to);
        });
      try {
        await commit(batch);
      } catch (error) {
        // Inline work moved a shared cursor under this batch (nothing of it committed): read it again.
        if (options.sharedCursor === true && isLedgerError(error, "ERR_CONFLICT")) continue;
        // A handler refusing one event (not the first) of the batch: the events before it
        // are committed, so the follower stops exactly at the event it cannot take.
        const at = isRetriable(error) || !isLedgerError(error) ? undefined : numberOrUndefined(error.details?.["position"]);
        if (at === undefined || at <= cursor.position + 1 || at > batch.to.position) throw error;
        const before = events.filter((e) => e.position < at);
        batch = { from: cursor, to: advanceCursor(cursor, before), events: before };
        await commit(batch);
        cursor = batch.to;
        await handler.committed?.(batch);
        throw error;
      }
      cursor = batch.to;
      lastBeat = Date.now();
      try {
        await handler.committed?.(batch);
      } catch (error) {
        logger?.warn({ err: error, position: batch.to.position }, "after-commit hook failed");
      }
      if (events.length < batchSize && lingerMs > 0) await sleep(lingerMs, signal);
    }
    if (!lease.alive && !stopping.signal.aborted) throw new LedgerError("ERR_UNAVAILABLE", "the follower's lock connection was lost", { retriable: true });
  }

  const done = run().catch((error: unknown) => {
    // run() handles its own errors; this is a programming error: say so, never hide it.
    failure = asLedgerError(error, cursor);
    state = "failed";
    logger?.error({ err: error }, "follower crashed");
  });

  return {
    name: options.name,
    get state() {
      return state;
    },
    get cursor() {
      return cursor;
    },
    get error() {
      return failure;
    },
    done,
    wake: () => wakeup.wake(),
    async stop() {
      stopping.abort();
      wakeup.wake();
      await done;
    },
  };
}

/** Connection loss, timeouts and errors marked retriable are tried again; integrity errors and handler bugs never are. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return false;
  if (isLedgerError(error)) return error.retriable;
  if (isConnectionError(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // serialization_failure, deadlock_detected, lock_not_available, query_canceled, admin shutdown family
  return typeof code === "string" && ["40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"].includes(code);
}

function asLedgerError(error: unknown, cursor: FollowerCursor | undefined): LedgerError {
  if (isLedgerError(error)) {
    if (error.details?.["position"] !== undefined || cursor === undefined) return error;
    return new LedgerError(error.code, error.message, { cause: error, details: { ...error.details, position: cursor.position + 1 }, retriable: error.retriable });
  }
  const message = error instanceof Error ? error.message : String(error);
  const position = numberOrUndefined((error as { position?: unknown } | null)?.position) ?? (cursor === undefined ? undefined : cursor.position + 1);
  return new LedgerError("ERR_PROJECTION_FAILED", message, { cause: error, details: position === undefined ? {} : { position } });
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : undefined;
}

function abortOn(promise: Promise<void>): AbortSignal {
  const controller = new AbortController();
  void promise.then(() => controller.abort());
  return controller.signal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
