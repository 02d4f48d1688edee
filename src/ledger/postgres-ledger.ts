import { createHash, randomBytes as nodeRandomBytes, randomUUID as nodeRandomUUID } from "node:crypto";
import type pg from "pg";
import { isLedgerError, LedgerError, sha256, utf8, type MerkleFrontier } from "../core/index.js";
import type { Signer } from "../keys/index.js";
import { idempotencyMapKey, planBatch, prepareEvents, type BatchPlan, type Hasher, type ChainState, type IdempotencyHit, type Outcome, type QueuedAppend, type StreamState } from "./batch-plan.js";
import type { AppendRequest, Ledger, Receipt } from "./types.js";
import { assertAppendRequest, requestFingerprint } from "./validate.js";

export interface LedgerDeps {
  pool: pg.Pool;
  signer: Signer;
  now?: () => Date;
  randomBytes?: (length: number) => Uint8Array;
  randomUUID?: () => string;
  /** SHA-256 over the parts; node:crypto's by default (the core defines the bytes). */
  hash?: Hasher;
  /** Called once per committed batch (metrics). */
  onBatch?: (stats: { requests: number; events: number; durationMs: number }) => void;
}

export interface LedgerOptions {
  /** Checkpoint origin and signed-note key name, e.g. `ledger.example.com/prod`. */
  origin: string;
  /** Most events one transaction commits. */
  maxBatchEvents?: number;
  /** Most events waiting for the sequencer before appends are refused with ERR_OVERLOADED. */
  maxQueuedEvents?: number;
  maxEventsPerAppend?: number;
}

interface Waiter extends QueuedAppend {
  events: number;
  /** After a failed multi-request batch, retry alone so one bad append cannot sink others. */
  solo: boolean;
  settle(outcome: Outcome): void;
}

/**
 * The one writer of the log: a group-commit sequencer over Postgres.
 *
 * Appends queue; a single loop takes everything queued (up to maxBatchEvents), locks the
 * chain head row, decides every append, and commits all of them in one transaction with
 * multi-row inserts. Positions are assigned under the head lock, so commit order equals
 * position order, across instances too. One fsync then covers the whole batch, which is
 * what lets durable appends go beyond the ~1,000/s of one transaction per request.
 *
 * `append` resolves only after its batch is durable: committed, and the WAL flushed past
 * it (see flush()).
 */
export function createPostgresLedger(deps: LedgerDeps, options: LedgerOptions): Ledger & { readonly queued: number } {
  const now = deps.now ?? (() => new Date());
  const randomBytes = deps.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
  const randomUUID = deps.randomUUID ?? nodeRandomUUID;
  const hash = deps.hash ?? nodeSha256;
  const maxBatchEvents = options.maxBatchEvents ?? 5000;
  const maxQueuedEvents = options.maxQueuedEvents ?? 100_000;
  const queue: Waiter[] = [];
  const inFlight = new Map<string, { fingerprint: Uint8Array; promise: Promise<Receipt> }>();
  let queuedEvents = 0;
  let running = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();
  // Batches committed (asynchronously) and waiting for a durable flush before their
  // appends are answered. See flush().
  let awaitingFlush: Array<{ batch: Waiter[]; outcomes: Outcome[]; position: number; started: number }> = [];
  let flushing = false;
  let flushed: Promise<void> = Promise.resolve();

  function append(request: AppendRequest): Promise<Receipt> {
    try {
      if (closed) throw new LedgerError("ERR_UNAVAILABLE", "the ledger is shutting down", { retriable: true });
      assertAppendRequest(request, options.maxEventsPerAppend);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const principal = request.principal ?? "anonymous";
    const fingerprint = sha256(utf8(requestFingerprint(request)));
    const key = request.idempotencyKey;
    if (key !== undefined) {
      const mapKey = idempotencyMapKey(principal, key);
      const current = inFlight.get(mapKey);
      if (current) {
        // The same request retried while the first is in flight shares its outcome (one
        // append, one receipt); another request under the key cannot be decided yet.
        if (current.fingerprint.every((v, i) => v === fingerprint[i])) return current.promise;
        return Promise.reject(
          new LedgerError("ERR_IDEMPOTENCY_IN_FLIGHT", "a request with this Idempotency-Key is still being processed", { details: { idempotencyKey: key }, retriable: true }),
        );
      }
      const promise = enqueue(request, principal, fingerprint).finally(() => inFlight.delete(mapKey));
      inFlight.set(mapKey, { fingerprint, promise });
      return promise;
    }
    return enqueue(request, principal, fingerprint);
  }

  function enqueue(request: AppendRequest, principal: string, fingerprint: Uint8Array): Promise<Receipt> {
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
      queue.push({
        request,
        principal,
        fingerprint,
        prepared,
        events,
        solo: false,
        settle: (outcome) => (outcome.ok ? resolve(outcome.receipt) : reject(outcome.error)),
      });
      if (!running) idle = run();
    });
  }

  async function run(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = takeBatch();
        const started = performance.now();
        const committed = await commitBatch(batch).catch((error: unknown) => {
          const failed = failBatch(batch, error);
          failed?.forEach((o, i) => batch[i]!.settle(o));
          return undefined;
        });
        if (committed) {
          awaitingFlush.push({ batch, outcomes: committed.outcomes, position: committed.position, started });
          if (!flushing) flushed = flush();
        }
      }
    } finally {
      running = false;
    }
  }

  /**
   * Group commit across batches. Batches commit with synchronous_commit off, so the
   * head lock is released without waiting for the disk and the next batch starts at
   * once. This loop then makes one synchronous write (the durable head) per round: its
   * commit record comes after every batch committed so far, and WAL is flushed in order,
   * so when it returns all of them are on disk. Only then are their appends answered.
   * One fsync thus covers as many batches as committed during the previous one.
   */
  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (awaitingFlush.length > 0) {
        const round = awaitingFlush;
        awaitingFlush = [];
        const position = Math.max(...round.map((r) => r.position));
        let failure: LedgerError | undefined;
        try {
          await deps.pool.query("UPDATE annal.durable_head SET position = greatest(position, $1) WHERE id = 1", [position]);
        } catch (error) {
          failure = new LedgerError("ERR_UNAVAILABLE", "the append was written but could not be confirmed durable; retry with the same Idempotency-Key", {
            cause: error,
            retriable: true,
          });
        }
        for (const { batch, outcomes, started } of round) {
          batch.forEach((w, i) => w.settle(failure ? { ok: false, error: failure } : outcomes[i]!));
          const events = failure ? 0 : outcomes.reduce((n, o, i) => n + (o.ok && !o.replayed ? batch[i]!.events : 0), 0);
          deps.onBatch?.({ requests: batch.length, events, durationMs: performance.now() - started });
        }
      }
    } finally {
      flushing = false;
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
    return batch;
  }

  /** Returns undefined when the waiters were re-queued to be retried one by one. */
  function failBatch(batch: Waiter[], error: unknown): Outcome[] | undefined {
    if (batch.length > 1 && !isConnectionError(error)) {
      for (const w of batch.reverse()) {
        w.solo = true;
        queue.unshift(w);
        queuedEvents += w.events;
      }
      return undefined;
    }
    const cause = isLedgerError(error) ? error : undefined;
    const failure =
      cause ??
      new LedgerError("ERR_UNAVAILABLE", "the append could not be committed; its outcome is unknown if the connection dropped during commit, so retry with the same Idempotency-Key", {
        cause: error,
        retriable: true,
      });
    return batch.map(() => ({ ok: false, error: failure }));
  }

  async function commitBatch(batch: Waiter[]): Promise<{ outcomes: Outcome[]; position: number }> {
    const client = await deps.pool.connect();
    let release: (error?: Error) => void = (error) => client.release(error);
    try {
      // Not durable at COMMIT: flush() confirms durability before anyone is answered.
      const state = await readState(client, batch);
      const plan = await planBatch(
        { signer: deps.signer, signMany: (messages) => deps.signer.signMany(messages), origin: options.origin, recordedAt: now().toISOString(), hash },
        state.head,
        state.streams,
        batch,
        state.idempotency,
        state.existingIds,
      );
      if (plan.events.length > 0) await writePlan(client, plan);
      await client.query("COMMIT");
      return { outcomes: plan.outcomes, position: plan.head.position };
    } catch (error) {
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

  return {
    append,
    get queued() {
      return queuedEvents;
    },
    async close() {
      closed = true;
      await idle;
      await flushed;
    },
  };
}

async function readState(client: pg.PoolClient, batch: readonly Waiter[]) {
  // One round trip: open the transaction (not durable at COMMIT: flush() confirms that
  // before anyone is answered) and take the head lock. The stream read below is a later
  // statement, so its snapshot sees every batch committed before the lock was granted.
  const results = (await client.query(
    "BEGIN; SET LOCAL synchronous_commit = off; SELECT position, hash, frontier FROM annal.chain_head WHERE id = 1 FOR UPDATE",
  )) as unknown as Array<pg.QueryResult<{ position: number; hash: Buffer; frontier: Buffer }>>;
  const headRow = results[2]?.rows[0];
  if (!headRow) throw new LedgerError("ERR_INTERNAL", "annal.chain_head is empty: the database was not migrated");
  const head: ChainState = { position: headRow.position, hash: new Uint8Array(headRow.hash), frontier: decodeFrontier(headRow.position, headRow.frontier) };

  const streamIds = [...new Set(batch.map((w) => w.request.streamId))];
  const { rows: streamRows } = await client.query<{ stream_id: string; version: number; last_hash: Buffer }>({
    name: "annal_read_streams",
    text: "SELECT stream_id, version, last_hash FROM annal.streams WHERE stream_id = ANY($1::text[])",
    values: [streamIds],
  });
  const streams = new Map<string, StreamState>(streamRows.map((r) => [r.stream_id, { version: r.version, lastHash: new Uint8Array(r.last_hash) }]));

  const idempotency = new Map<string, IdempotencyHit>();
  const keyed = batch.filter((w) => w.request.idempotencyKey !== undefined);
  if (keyed.length > 0) {
    const { rows } = await client.query<{ principal: string; key: string; request_hash: Buffer; receipt: string }>(
      `SELECT i.principal, i.key, i.request_hash, i.receipt FROM annal.idempotency i
       JOIN unnest($1::text[], $2::text[]) AS k(principal, key) ON i.principal = k.principal AND i.key = k.key`,
      [keyed.map((w) => w.principal), keyed.map((w) => w.request.idempotencyKey!)],
    );
    for (const r of rows) idempotency.set(idempotencyMapKey(r.principal, r.key), { fingerprint: new Uint8Array(r.request_hash), receipt: r.receipt });
  }

  const clientIds = batch.flatMap((w) => w.request.events.flatMap((e) => (e.eventId === undefined ? [] : [e.eventId])));
  const existingIds = new Set<string>();
  if (clientIds.length > 0) {
    const { rows } = await client.query<{ event_id: string }>("SELECT event_id::text AS event_id FROM annal.events WHERE event_id = ANY($1::uuid[])", [clientIds]);
    for (const r of rows) existingIds.add(r.event_id);
  }
  return { head, streams, idempotency, existingIds };
}

// Data-modifying CTEs: the whole batch is one statement (one round trip), and the
// events, payloads, stream heads, chain head, checkpoint and idempotency records land
// or fail together.
const WRITE_BATCH = `
WITH ev AS (
  INSERT INTO annal.events (position, stream_id, stream_version, event_id, type, recorded_at, metadata,
                            data_hash, prev_hash, stream_prev_hash, hash, key_id, signature)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                       $8::bytea[], $9::bytea[], $10::bytea[], $11::bytea[], $12::text[], $13::bytea[])
  RETURNING 1
), pl AS (
  INSERT INTO annal.payloads (position, data, salt)
  SELECT * FROM unnest($1::bigint[], $14::text[], $15::bytea[])
  RETURNING 1
), st AS (
  INSERT INTO annal.streams (stream_id, version, last_hash)
  SELECT * FROM unnest($16::text[], $17::bigint[], $18::bytea[])
  ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, last_hash = EXCLUDED.last_hash
  RETURNING 1
), hd AS (
  UPDATE annal.chain_head SET position = $19, hash = $20, frontier = $21 WHERE id = 1
  RETURNING 1
), cp AS (
  INSERT INTO annal.checkpoints (tree_size, root_hash, chain_head, note, key_id)
  VALUES ($19, $22, $20, $23, $24)
  RETURNING 1
), ik AS (
  INSERT INTO annal.idempotency (principal, key, request_hash, receipt)
  SELECT * FROM unnest($25::text[], $26::text[], $27::bytea[], $28::text[])
  RETURNING 1
), mn AS (
  INSERT INTO annal.merkle_nodes (level, index, hash)
  SELECT * FROM unnest($29::smallint[], $30::bigint[], $31::bytea[])
  RETURNING 1
)
SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM pl) AS payloads, (SELECT count(*) FROM hd) AS heads,
       (SELECT count(*) FROM st) AS streams, (SELECT count(*) FROM cp) AS checkpoints, (SELECT count(*) FROM ik) AS keys,
       (SELECT count(*) FROM mn) AS nodes`;

async function writePlan(client: pg.PoolClient, plan: BatchPlan): Promise<void> {
  const e = plan.events;
  const cp = plan.checkpoint!;
  const streams = [...plan.streams.entries()];
  const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // Named: parsed once per connection instead of per batch.
  const { rows } = await client.query<{ events: number; heads: number }>({ name: "annal_write_batch", text: WRITE_BATCH, values: [
    e.map((x) => x.header.position),
    e.map((x) => x.header.streamId),
    e.map((x) => x.header.streamVersion),
    e.map((x) => x.header.eventId),
    e.map((x) => x.header.type),
    e.map((x) => x.header.recordedAt),
    e.map((x) => x.metadataJson),
    e.map((x) => Buffer.from(x.header.dataHash, "base64")),
    e.map((x) => Buffer.from(x.header.prevHash, "base64")),
    e.map((x) => Buffer.from(x.header.streamPrevHash, "base64")),
    e.map((x) => buf(x.hash)),
    e.map((x) => x.header.keyId),
    e.map((x) => buf(x.signature)),
    e.map((x) => x.dataJson),
    e.map((x) => buf(x.salt)),
    streams.map(([id]) => id),
    streams.map(([, s]) => s.version),
    streams.map(([, s]) => buf(s.lastHash)),
    plan.head.position,
    buf(plan.head.hash),
    encodeFrontier(plan.head.frontier),
    buf(cp.rootHash),
    cp.note,
    e[0]!.header.keyId,
    plan.idempotency.map((i) => i.principal),
    plan.idempotency.map((i) => i.key),
    plan.idempotency.map((i) => buf(i.fingerprint)),
    plan.idempotency.map((i) => i.receipt),
    plan.nodes.map((n) => n.level),
    plan.nodes.map((n) => n.index),
    plan.nodes.map((n) => buf(n.hash)),
  ] });
  const counts = rows[0];
  if (Number(counts?.events) !== e.length || Number(counts?.heads) !== 1) {
    throw new LedgerError("ERR_INTERNAL", `batch write wrote ${counts?.events} of ${e.length} events`);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function nodeSha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

function encodeFrontier(frontier: MerkleFrontier): Buffer {
  return Buffer.concat(frontier.hashes.map((h) => Buffer.from(h)));
}

function decodeFrontier(size: number, bytes: Buffer): MerkleFrontier {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 32) hashes.push(new Uint8Array(bytes.subarray(i, i + 32)));
  return { size, hashes };
}

const CONNECTION_ERRORS = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "57P01", "57P02", "57P03", "08000", "08003", "08006"]);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return (code !== undefined && CONNECTION_ERRORS.has(code)) || /Connection terminated|connection timeout/i.test((error as Error | undefined)?.message ?? "");
}

/** Publishes the signer's public key in annal.signing_keys (idempotent). */
export async function registerSigningKey(pool: pg.Pool, signer: Signer): Promise<void> {
  await pool.query(
    "INSERT INTO annal.signing_keys (key_id, algorithm, public_key, note_name) VALUES ($1, 'Ed25519', $2, $3) ON CONFLICT (key_id) DO NOTHING",
    [signer.keyId, Buffer.from(signer.publicKey), signer.noteName],
  );
}
