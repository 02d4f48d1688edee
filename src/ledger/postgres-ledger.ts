import { randomBytes as nodeRandomBytes, randomUUID as nodeRandomUUID } from "node:crypto";
import type pg from "pg";
import {
  equalBytes,
  formatVerifierKey,
  isLedgerError,
  KEY_ROTATED_TYPE,
  keyRotationStatementBytes,
  KEYS_STREAM,
  LedgerError,
  toBase64,
  utf8,
  type EventRecord,
  type JsonObject,
  type JsonValue,
  type KeyRotatedData,
  type KeyRotationStatement,
} from "../core/index.js";
import type { Signer } from "../keys/index.js";
import { idempotencyMapKey, planBatch, prepareEvents, type BatchPlan, type ChainState, type Hasher, type Outcome, type QueuedAppend, type StreamState } from "./batch-plan.js";
import { mark, markAll, STAGE } from "./append-trace.js";
import { createDatabaseGate, type DatabaseGate } from "./database-gate.js";
import { createDurableFlusher } from "./durable-flush.js";
import {
  beginLocked,
  claimFirstKey,
  isConnectionError,
  isHeadConflict,
  isWriteConflict,
  nodeSha256,
  readSupporting,
  recordRotation,
  wasInForce,
  writePlan,
  type KeyState,
  type SupportingState,
} from "./batch-store.js";
import type { AppendRequest, KeyRotation, Ledger, Receipt } from "./types.js";
import { assertAppendRequest, requestFingerprint } from "./validate.js";

export interface LedgerDeps {
  pool: pg.Pool;
  /**
   * Connections for the batch writes; in `flush` commit mode their sessions MUST run with
   * synchronous_commit off (durability is confirmed on `pool`). Defaults to `pool`.
   */
  writePool?: pg.Pool;
  /** The instance's signing key (ANNAL_SIGNING_KEY): put in force on a log no key has signed yet. */
  signer: Signer;
  /**
   * The next key (ANNAL_NEXT_SIGNING_KEY): what `rotateKey` puts in force, and what this
   * instance signs with once another instance has rotated to it. Whichever of the two
   * keys is in force (read under the chain-head lock) signs; holding neither, the
   * instance refuses appends with ERR_SIGNING_KEY_UNAVAILABLE.
   */
  nextSigner?: Signer;
  now?: () => Date;
  randomBytes?: (length: number) => Uint8Array;
  randomUUID?: () => string;
  /** SHA-256 over the parts; node:crypto's by default (the core defines the bytes). */
  hash?: Hasher;
  /** Called once per committed batch (metrics). */
  onBatch?: (stats: { requests: number; events: number; durationMs: number }) => void;
  /**
   * Closed on the first connection failure or timeout: appends are then refused at once
   * until its probe reaches the database again. Default: a gate probing `pool`.
   */
  gate?: DatabaseGate;
  /**
   * Work that must commit with the events (inline projections). While `active()` is true
   * every batch is written in an explicit transaction and `apply` runs in it after the
   * batch statement and before COMMIT, holding the chain-head row lock: it MUST be quick
   * and MUST NOT fail for reasons of its own (a failure aborts the appends).
   */
  inline?: InlineWork;
}

export interface InlineWork {
  active(): boolean;
  apply(tx: pg.PoolClient, events: readonly EventRecord[]): Promise<void>;
}

export interface LedgerOptions {
  /** Checkpoint origin and signed-note key name, e.g. `ledger.example.com/prod`. */
  origin: string;
  /** Most events one transaction commits. */
  maxBatchEvents?: number;
  /** Most events waiting for the sequencer before appends are refused with ERR_OVERLOADED. */
  maxQueuedEvents?: number;
  maxEventsPerAppend?: number;
  /** Optimistic batch statements in flight at once (the pipeline depth). */
  maxBatchesInFlight?: number;
  /**
   * `sync` (default): each batch commits synchronously and is answered at COMMIT; the
   * next batch is already planned and sent, and PostgreSQL's group commit shares fsyncs.
   * `flush`: batches commit without waiting for the disk and one synchronous write per
   * round confirms all of them (durable-flush.ts); `writePool` MUST then run with
   * synchronous_commit off. Better when fsync is slow and batches are small.
   */
  commitMode?: "sync" | "flush";
  /**
   * Longest time an append waits for its answer. Past it the append is answered
   * ERR_UNAVAILABLE if it was still queued (it will not be written) or ERR_OUTCOME_UNKNOWN
   * if its batch had been taken (it may commit; the Idempotency-Key resolves it). Keep it
   * above the pool's connect plus statement timeouts, which normally answer first.
   * Default 4500 ms.
   */
  appendTimeoutMs?: number;
  /**
   * Seconds after a rotation during which checkpoints carry the previous key's signature
   * too (when this instance holds it), so witnesses and verifiers that trust only the old
   * key keep working while their operators add the new one. Default 86400.
   */
  keyOverlapSeconds?: number;
}

interface Waiter extends QueuedAppend {
  events: number;
  /** After a failed multi-request batch, retry alone so one bad append cannot sink others. */
  solo: boolean;
  /** A key rotation: its event is built under the chain-head lock (it names its own position). */
  rotation?: boolean;
  settle(outcome: Outcome): void;
}

export interface LedgerStats {
  optimisticBatches: number;
  lockedBatches: number;
  conflicts: number;
  /** Batches that reached the head row before the batch they extend and were sent again. */
  resent: number;
}

/**
 * The one writer of the log: a pipelined group-commit sequencer over Postgres.
 *
 * Appends queue; one loop takes everything queued (up to maxBatchEvents), decides and
 * builds the batch on the chain head it knows, and writes it as one statement guarded on
 * that head (position and hash), while the next batch is already being planned. The
 * head row orders the statements, so commit order equals position order, across
 * instances too; a batch that lost a race is retried under the head row lock. One fsync
 * covers a whole batch, which is what lets durable appends go beyond the ~1,000/s of one
 * transaction per request.
 *
 * `append` resolves only after its batch is durable (see LedgerOptions.commitMode).
 */
export function createPostgresLedger(deps: LedgerDeps, options: LedgerOptions): Ledger & { readonly queued: number; readonly stats: LedgerStats; rotateKey(): Promise<KeyRotation> } {
  const now = deps.now ?? (() => new Date());
  const randomBytes = deps.randomBytes ?? createRandomPool();
  const randomUUID = deps.randomUUID ?? nodeRandomUUID;
  const hash = deps.hash ?? nodeSha256;
  const writePool = deps.writePool ?? deps.pool;
  const maxBatchEvents = options.maxBatchEvents ?? 5000;
  const maxQueuedEvents = options.maxQueuedEvents ?? 100_000;
  const queue: Waiter[] = [];
  const inFlight = new Map<string, { fingerprint: Uint8Array; promise: Promise<Receipt> }>();
  let queuedEvents = 0;
  let running = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();
  // Batches committed without waiting for the disk are answered once a synchronous
  // write on `pool` has flushed the WAL past them (durable-flush.ts).
  const flusher = createDurableFlusher(deps.pool);
  const flushMode = options.commitMode === "flush";
  const appendTimeoutMs = options.appendTimeoutMs ?? 4500;
  const gate = deps.gate ?? createDatabaseGate({ probe: () => deps.pool.query("SELECT 1") });
  const held = deps.nextSigner ? [deps.signer, deps.nextSigner] : [deps.signer];
  const overlapMs = (options.keyOverlapSeconds ?? 86_400) * 1000;

  function append(request: AppendRequest): Promise<Receipt> {
    try {
      if (closed) throw new LedgerError("ERR_UNAVAILABLE", "the ledger is shutting down", { retriable: true });
      assertAppendRequest(request, options.maxEventsPerAppend);
      // While the database is gone, refuse at once instead of queueing behind a dead batch.
      gate.assertAvailable();
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const principal = request.principal ?? "anonymous";
    const key = request.idempotencyKey;
    if (key !== undefined) {
      // Only a keyed request is fingerprinted: it is compared with the stored record.
      const fingerprint = hash(utf8(requestFingerprint(request)));
      const mapKey = idempotencyMapKey(principal, key);
      const current = inFlight.get(mapKey);
      if (current) {
        // The same request retried while the first is in flight shares its outcome (one
        // append, one receipt); another request under the key cannot be decided yet.
        if (equalBytes(current.fingerprint, fingerprint)) return current.promise;
        return Promise.reject(
          new LedgerError("ERR_IDEMPOTENCY_IN_FLIGHT", "a request with this Idempotency-Key is still being processed", { details: { idempotencyKey: key }, retriable: true }),
        );
      }
      const promise = enqueue(request, principal, fingerprint).finally(() => inFlight.delete(mapKey));
      inFlight.set(mapKey, { fingerprint, promise });
      return promise;
    }
    return enqueue(request, principal, undefined);
  }

  function enqueue(request: AppendRequest, principal: string, fingerprint: Uint8Array | undefined): Promise<Receipt> {
    const events = request.events.length;
    let prepared;
    try {
      prepared = prepareEvents(request, { randomBytes, randomUUID, hash });
    } catch (error) {
      return Promise.reject(toError(error));
    }
    if (queuedEvents + events > maxQueuedEvents) {
      return Promise.reject(new LedgerError("ERR_OVERLOADED", "too many appends waiting; retry shortly", { retriable: true, details: { retryAfterSeconds: 1 } }));
    }
    return new Promise<Receipt>((resolve, reject) => {
      queuedEvents += events;
      const waiter: Waiter = {
        request,
        principal,
        ...(fingerprint ? { fingerprint } : {}),
        prepared,
        events,
        solo: false,
        settle: (outcome) => {
          clearTimeout(deadline);
          if (outcome.ok) resolve(outcome.receipt);
          else reject(outcome.error);
        },
      };
      // The bound on every answer. A later settle of the same waiter is a no-op (a promise
      // settles once); a batch that commits after this still writes the idempotency record.
      const deadline = setTimeout(() => {
        const index = queue.indexOf(waiter);
        if (index >= 0) {
          queue.splice(index, 1);
          queuedEvents -= waiter.events;
        }
        // Still queued: it is dropped and never written. Taken into a batch: it may be.
        waiter.settle({ ok: false, error: index >= 0 ? notWritten("the append waited too long for the database") : outcomeUnknown("the append took too long to commit") });
      }, appendTimeoutMs);
      queue.push(waiter);
      mark(request.timeline, STAGE.queued);
      if (!running) idle = run();
    });
  }

  // What this process knows of the committed log: the chain head after its last batch
  // and the heads of streams it has touched or read since. Batches are planned on it
  // without a lock and written with a guard on the head (see batch-store.ts); any lost
  // race forgets it and the next batch plans under the head lock.
  // `keys` is the key state read with that head: any rotation since moved the head, so a
  // batch planned with a stale key fails its guard like any other stale plan.
  let known: { head: ChainState; streams: Map<string, StreamState>; keys: KeyState } | undefined;
  const MAX_IN_FLIGHT = options.maxBatchesInFlight ?? 2;
  const stats = { optimisticBatches: 0, lockedBatches: 0, conflicts: 0, resent: 0 };
  const MAX_KNOWN_STREAMS = 100_000;

  interface InFlight {
    batch: Waiter[];
    plan: BatchPlan;
    /** The head the plan extends: what its statement is guarded on. */
    base: ChainState;
    /** Sent while the batch it extends was still in flight (see settle). */
    behind: boolean;
    started: number;
    written: Promise<unknown>;
  }

  async function run(): Promise<void> {
    running = true;
    const window: InFlight[] = [];
    try {
      while (queue.length > 0 || window.length > 0) {
        if (!gate.available && queue.length > 0) {
          refuseQueued();
          continue;
        }
        if (queue.length > 0 && window.length < MAX_IN_FLIGHT) {
          const batch = takeBatch();
          const started = performance.now();
          // A planning failure (a read or the signer) is not decided here: the locked path
          // below runs the same steps and reports it. A database that does not answer is
          // decided here, though: the locked path would only wait for it again.
          const base = known;
          let unreachable: unknown;
          const optimistic =
            base && !batch[0]!.solo
              ? await planOptimistic(batch, base).catch((error: unknown) => {
                  if (isConnectionError(error)) unreachable = error;
                  return undefined;
                })
              : undefined;
          if (unreachable !== undefined) {
            known = undefined;
            gate.reportDown(unreachable);
            for (const w of batch) w.settle({ ok: false, error: notWritten("the database did not answer", unreachable) });
            continue;
          }
          if (base && optimistic && optimistic.events.length > 0) {
            // Written without waiting: the next batch is planned (hashed, signed) on top of
            // this one while it commits; PostgreSQL orders the writes on the head row.
            known = { head: optimistic.head, streams: remember(base.streams, optimistic.streams), keys: base.keys };
            const written = writeOptimistic(optimistic, base.head);
            written.catch(() => undefined); // observed when settled, in order
            // When the statement returns, which may be before the loop gets to settle it.
            if (batch[0]!.request.timeline !== undefined) void written.then(() => markAll(batch, STAGE.written), () => undefined);
            window.push({ batch, plan: optimistic, base: base.head, behind: window.length > 0, started, written });
            stats.optimisticBatches++;
            continue;
          }
          await settleAll(window);
          await commitLocked(batch, started);
          continue;
        }
        await settle(window.shift()!, window);
      }
    } finally {
      running = false;
    }
  }

  async function planOptimistic(batch: Waiter[], state: { head: ChainState; streams: Map<string, StreamState>; keys: KeyState }): Promise<BatchPlan> {
    const missing = [...new Set(batch.map((w) => w.request.streamId))].filter((id) => !state.streams.has(id));
    const read = await readSupporting(deps.pool, batch, missing);
    markAll(batch, STAGE.read);
    // A stream read here is as committed now; if that is beyond state.head, another
    // writer moved the head and this batch's guard fails, so remembering it is safe.
    for (const [id, stream] of read.streams) if (!state.streams.has(id)) state.streams.set(id, stream);
    const streams = state.streams;
    const plan = await planBatch(planDeps(batch, state.keys), state.head, streams, batch, read.idempotency, read.existingIds);
    markAll(batch, STAGE.signed);
    return plan;
  }

  /**
   * The optimistic write on a connection of its own: a failure to get one means nothing
   * was sent (NotSent); a failure after sending may still have committed.
   */
  async function writeOptimistic(plan: BatchPlan, base: ChainState): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await writePool.connect();
    } catch (error) {
      throw new NotSent(error);
    }
    const inline = deps.inline?.active() === true ? deps.inline : undefined;
    try {
      if (inline === undefined) {
        await writePlan(client, plan, base, !flushMode);
      } else {
        // Inline projections: the batch statement and their writes commit together.
        await client.query(`BEGIN; SET LOCAL synchronous_commit = ${flushMode ? "off" : "on"}`);
        try {
          await writePlan(client, plan, base, !flushMode);
          await inline.apply(client, plannedRecords(plan));
        } catch (error) {
          if (!isConnectionError(error)) await client.query("ROLLBACK");
          throw error;
        }
        await client.query("COMMIT");
      }
      client.release();
    } catch (error) {
      // A connection that timed out or broke is discarded, never reused mid-statement.
      client.release(isConnectionError(error) ? toError(error) : undefined);
      throw error;
    }
  }

  async function settle(entry: InFlight, rest: InFlight[]): Promise<void> {
    try {
      await entry.written.catch((error: unknown) => {
        // A batch sent behind another may reach the head row before that one does (its
        // backend ran first) and find the head not yet where it was planned. Its
        // predecessor has now committed (settled in order; a failed one would have
        // requeued this one with it), so the same statement is sent again once. Failing
        // again, the head really moved: the conflict path below.
        if (!entry.behind || !isHeadConflict(error)) throw error;
        entry.behind = false;
        stats.resent++;
        entry.written = writeOptimistic(entry.plan, entry.base);
        return entry.written;
      });
      awaitFlush(entry.batch, entry.plan.outcomes, entry.plan.head.position, entry.started);
    } catch (error) {
      known = undefined;
      if (isWriteConflict(error) || error instanceof NotSent) {
        if (error instanceof NotSent) gate.reportDown(error.cause);
        else stats.conflicts++;
        // Nothing was written. Later batches in flight were planned on this one and will
        // fail their guard too; retry all of them, in their order, under the lock (or
        // refuse them, if the database is gone).
        const retry = [entry, ...rest.splice(0)];
        await Promise.allSettled(retry.map((r) => r.written));
        for (const r of retry.reverse()) requeue(r.batch, false);
        return;
      }
      // Anything else (a dropped connection, a timeout): the statement may have committed,
      // so it must not be retried blindly. Later batches were planned on it and guarded on
      // its head: each of them committed only if this one did.
      if (isConnectionError(error)) gate.reportDown(error);
      const later = rest.splice(0);
      await Promise.allSettled(later.map((r) => r.written));
      failBatch(entry.batch, error)?.forEach((o, i) => entry.batch[i]!.settle(o));
      const retry: InFlight[] = [];
      for (const r of later) {
        const result = await r.written.then(
          () => ({ ok: true as const }),
          (e: unknown) => ({ ok: false as const, error: e }),
        );
        if (result.ok) awaitFlush(r.batch, r.plan.outcomes, r.plan.head.position, r.started);
        else if (isWriteConflict(result.error) || result.error instanceof NotSent) retry.push(r);
        else failBatch(r.batch, result.error)?.forEach((o, i) => r.batch[i]!.settle(o));
      }
      for (const r of retry.reverse()) requeue(r.batch, false);
    }
  }

  /** The database is gone: every append still queued is refused; none of them was sent. */
  function refuseQueued(): void {
    const refused = queue.splice(0);
    queuedEvents = 0;
    for (const w of refused) w.settle({ ok: false, error: notWritten("the database is not answering") });
  }

  async function settleAll(window: InFlight[]): Promise<void> {
    while (window.length > 0) await settle(window.shift()!, window);
  }

  function requeue(batch: Waiter[], solo: boolean): void {
    for (const w of [...batch].reverse()) {
      w.solo = w.solo || solo;
      queue.unshift(w);
      queuedEvents += w.events;
    }
  }

  function remember(streams: Map<string, StreamState>, touched: Map<string, StreamState>): Map<string, StreamState> {
    if (streams.size > MAX_KNOWN_STREAMS) streams = new Map();
    for (const [id, stream] of touched) streams.set(id, stream);
    return streams;
  }

  /** The held signer of `keyId`; never another one (a retired key must not sign). */
  function signerFor(keyId: string): Signer {
    const signer = held.find((s) => s.keyId === keyId);
    if (signer) return signer;
    throw new LedgerError("ERR_SIGNING_KEY_UNAVAILABLE", `key ${keyId} is in force and this instance does not hold it: give it that key (ANNAL_SIGNING_KEY or ANNAL_NEXT_SIGNING_KEY)`, {
      retriable: true,
      details: { keyId, retryAfterSeconds: 5 },
    });
  }

  function planDeps(batch: readonly Waiter[], keys: KeyState) {
    const signer = tracedSigner(batch, signerFor(keys.activeKeyId ?? deps.signer.keyId));
    const previous = keys.previous;
    // The previous key cosigns checkpoints during the overlap, if this instance holds it.
    const overlapSigner = previous && now().getTime() < previous.until.getTime() + overlapMs ? held.find((s) => s.keyId === previous.keyId) : undefined;
    return { signer, ...(overlapSigner ? { overlapSigner } : {}), origin: options.origin, recordedAt: now().toISOString(), hash };
  }

  /** The signer, marking `planned` on the batch's traced appends when signing starts. */
  function tracedSigner(batch: readonly Waiter[], signer: Signer): Signer {
    if (batch[0]?.request.timeline === undefined) return signer;
    // Object.create keeps every other member (and getter) of the signer as it is.
    return Object.assign(Object.create(signer) as Signer, {
      signMany: (messages: Uint8Array[]) => {
        markAll(batch, STAGE.planned);
        return signer.signMany(messages);
      },
    });
  }

  /** Answers a committed batch once it is durable: at once in `sync` mode, after the flush in `flush` mode. */
  function awaitFlush(batch: Waiter[], outcomes: Outcome[], position: number, started: number): void {
    const settle = (failure: LedgerError | undefined) => {
      markAll(batch, STAGE.durable);
      batch.forEach((w, i) => w.settle(failure ? { ok: false, error: failure } : outcomes[i]!));
      const events = failure ? 0 : outcomes.reduce((n, o, i) => n + (o.ok && !o.replayed ? batch[i]!.events : 0), 0);
      deps.onBatch?.({ requests: batch.length, events, durationMs: performance.now() - started });
    };
    if (flushMode) flusher.add({ position, settle });
    else settle(undefined);
  }

  async function commitLocked(batch: Waiter[], started: number): Promise<void> {
    try {
      stats.lockedBatches++;
      const { plan, keys } = await commitBatch(batch);
      markAll(batch, STAGE.written);
      // After a rotation the next batch reads the key state afresh, under the lock.
      known = batch[0]!.rotation ? undefined : { head: plan.head, streams: new Map(plan.streams), keys };
      awaitFlush(batch, plan.outcomes, plan.head.position, started);
    } catch (error) {
      known = undefined;
      failBatch(batch, error)?.forEach((o, i) => batch[i]!.settle(o));
    }
  }

  function takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let events = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (batch.length > 0 && (next.solo || batch[0]!.solo || events + next.events > maxBatchEvents)) break;
      queue.shift();
      batch.push(next);
      events += next.events;
      queuedEvents -= next.events;
    }
    markAll(batch, STAGE.taken);
    return batch;
  }

  /**
   * Returns undefined when the waiters were re-queued to be retried one by one. A
   * connection failure or timeout after the write was sent is ERR_OUTCOME_UNKNOWN; one
   * before it (NotCommitted, NotSent) is ERR_UNAVAILABLE.
   */
  function failBatch(batch: Waiter[], error: unknown): Outcome[] | undefined {
    let failure: LedgerError;
    if (error instanceof NotSent || error instanceof NotCommitted) {
      failure = notWritten("the database did not answer", error.cause);
    } else if (isConnectionError(error)) {
      failure = outcomeUnknown("the connection to the database failed while the append was being committed", error);
    } else if (batch.length > 1 && !isLedgerError(error, "ERR_SIGNING_KEY_UNAVAILABLE")) {
      requeue(batch, true);
      return undefined;
    } else {
      failure = isLedgerError(error) ? error : new LedgerError("ERR_UNAVAILABLE", "the append was not committed", { cause: error, retriable: true });
    }
    return batch.map(() => ({ ok: false, error: failure }));
  }

  /** The locked path: head lock, fresh reads, plan, write, commit. Always decides correctly. */
  async function commitBatch(batch: Waiter[]): Promise<{ plan: BatchPlan; keys: KeyState }> {
    let client: pg.PoolClient;
    try {
      client = await writePool.connect();
    } catch (error) {
      gate.reportDown(error);
      throw new NotSent(error);
    }
    let release: (error?: Error) => void = (error) => client.release(error);
    let committing = false;
    try {
      const locked = await beginLocked(client, flushMode);
      const head = locked.head;
      let keys = locked.keys;
      if (keys.activeKeyId === null) {
        // No key has signed this log yet: this instance's key is the first, from here on.
        await claimFirstKey(client, deps.signer, head.position + 1);
        keys = { activeKeyId: deps.signer.keyId };
      }
      const rotation = batch[0]!.rotation ? await prepareRotation(client, batch[0]!, head, keys) : undefined;
      const state: SupportingState = await readSupporting(client, batch, [...new Set(batch.map((w) => w.request.streamId))]);
      markAll(batch, STAGE.read);
      const plan = await planBatch(planDeps(batch, keys), head, state.streams, batch, state.idempotency, state.existingIds);
      markAll(batch, STAGE.signed);
      if (plan.events.length > 0) {
        await writePlan(client, plan, head, !flushMode);
        if (rotation) await recordRotation(client, rotation);
        if (deps.inline?.active() === true) await deps.inline.apply(client, plannedRecords(plan));
      }
      committing = true;
      await client.query("COMMIT");
      return { plan, keys };
    } catch (error) {
      if (isConnectionError(error)) {
        // No ROLLBACK on a connection that did not answer: it would wait out another
        // timeout. Discarding the connection aborts the transaction, unless COMMIT was sent.
        gate.reportDown(error);
        release = () => client.release(toError(error));
        throw committing ? error : new NotCommitted(error);
      }
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        // A connection that cannot roll back is broken: destroy it rather than reuse it.
        const broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        release = () => client.release(broken);
      });
      throw error;
    } finally {
      release();
    }
  }

  /**
   * Builds the KeyRotated event under the chain-head lock: it names its own position
   * (fromPosition = position + 1), and the next key signs the statement binding it.
   */
  async function prepareRotation(client: pg.PoolClient, waiter: Waiter, head: ChainState, keys: KeyState) {
    const next = deps.nextSigner!;
    const previousKeyId = keys.activeKeyId!;
    if (next.keyId === previousKeyId) throw new LedgerError("ERR_CONFLICT", `key ${next.keyId} is already in force`, { details: { keyId: next.keyId } });
    signerFor(previousKeyId); // the old key signs the event: this instance must hold it
    if (await wasInForce(client, next.keyId)) throw new LedgerError("ERR_CONFLICT", `key ${next.keyId} was in force before; a retired key never returns`, { details: { keyId: next.keyId } });
    const position = head.position + 1;
    const statement: KeyRotationStatement = {
      origin: options.origin,
      previousKeyId,
      newKeyId: next.keyId,
      newPublicKey: toBase64(next.publicKey),
      newNoteVerifierKey: formatVerifierKey(options.origin, next.publicKey),
      fromPosition: position + 1,
    };
    const [signature] = await next.signMany([keyRotationStatementBytes(statement)]);
    const data: KeyRotatedData = { ...statement, newKeySignature: toBase64(signature!) };
    waiter.request = { streamId: KEYS_STREAM, events: [{ type: KEY_ROTATED_TYPE, data: { ...data } }], principal: waiter.principal };
    waiter.prepared = prepareEvents(waiter.request, { randomBytes, randomUUID, hash });
    return { previousKeyId, position, next };
  }

  function rotateKey(): Promise<KeyRotation> {
    if (closed) return Promise.reject(new LedgerError("ERR_UNAVAILABLE", "the ledger is shutting down", { retriable: true }));
    // A state this instance is in, not a server fault: 409, not 500.
    if (!deps.nextSigner) return Promise.reject(new LedgerError("ERR_CONFLICT", "this instance holds no next signing key: set ANNAL_NEXT_SIGNING_KEY to the key to rotate to"));
    return new Promise<Receipt>((resolve, reject) => {
      // Solo: planned only on the locked path, where its event is built (prepareRotation).
      const waiter: Waiter = {
        request: { streamId: KEYS_STREAM, events: [{ type: KEY_ROTATED_TYPE, data: {} }] },
        principal: "annal:keys",
        prepared: [],
        events: 1,
        solo: true,
        rotation: true,
        settle: (outcome) => (outcome.ok ? resolve(outcome.receipt) : reject(outcome.error)),
      };
      queuedEvents += 1;
      queue.push(waiter);
      if (!running) idle = run();
    }).then((receipt) => {
      const event = receipt.events[0]!;
      return { position: event.position, fromPosition: event.position + 1, previousKeyId: event.keyId, newKeyId: deps.nextSigner!.keyId, receipt };
    });
  }

  return {
    append,
    rotateKey,
    get queued() {
      return queuedEvents;
    },
    /** Batches written on the optimistic path, under the lock, and optimistic writes that lost a race. */
    get stats() {
      return { ...stats };
    },
    async close() {
      closed = true;
      await idle;
      await flusher.idle();
      if (deps.gate === undefined) gate.close();
    },
  };
}

/**
 * Salts (32 bytes per event) cut from 4 KiB of randomness at a time: one call into
 * OpenSSL per 128 events instead of one per event. Each block is a fresh buffer that is
 * never written again, so the salts already handed out stay as they are.
 */
function createRandomPool(blockBytes = 4096): (length: number) => Uint8Array {
  let block = new Uint8Array(0);
  let offset = 0;
  return (length) => {
    if (length > blockBytes) return new Uint8Array(nodeRandomBytes(length));
    if (offset + length > block.length) {
      block = new Uint8Array(nodeRandomBytes(blockBytes));
      offset = 0;
    }
    offset += length;
    return block.subarray(offset - length, offset);
  };
}

/** The batch's events as committed records (what followers read back), for inline work. */
function plannedRecords(plan: BatchPlan): EventRecord[] {
  return plan.events.map((e) => ({
    ...e.header,
    metadata: JSON.parse(e.metadataJson) as JsonObject,
    data: JSON.parse(e.dataJson) as JsonValue,
    dataSalt: toBase64(e.salt),
    hash: toBase64(e.hash),
    signature: toBase64(e.signature),
  }));
}

/** Getting a connection failed: nothing of the batch reached the database. */
class NotSent extends Error {
  constructor(cause: unknown) {
    super("no database connection", { cause });
  }
}

/** The locked transaction failed before COMMIT was sent: the database rolls it back. */
class NotCommitted extends Error {
  constructor(cause: unknown) {
    super("the transaction was not committed", { cause });
  }
}

function notWritten(reason: string, cause?: unknown): LedgerError {
  return new LedgerError("ERR_UNAVAILABLE", `${reason}; the append was not written, retry shortly`, { cause, retriable: true, details: { retryAfterSeconds: 1 } });
}

function outcomeUnknown(reason: string, cause?: unknown): LedgerError {
  return new LedgerError("ERR_OUTCOME_UNKNOWN", `${reason}; it may or may not have been written: retry with the same Idempotency-Key`, {
    cause,
    retriable: true,
    details: { retryAfterSeconds: 1 },
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
