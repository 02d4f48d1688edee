import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import type pg from "pg";
import { LedgerError, type MerkleFrontier } from "../core/index.js";
import { binaryArray } from "../store/postgres/binary-array.js";
export { isConnectionError } from "../store/postgres/errors.js";
import { idempotencyMapKey, type BatchPlan, type ChainState, type IdempotencyHit, type QueuedAppend, type StreamState } from "./batch-plan.js";

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

export interface SupportingState {
  streams: Map<string, StreamState>;
  idempotency: Map<string, IdempotencyHit>;
  existingIds: Set<string>;
}

/**
 * Opens the batch transaction, takes the chain-head lock and reads the key in force, in
 * one round trip. Each statement after the lock gets a snapshot that sees every batch (and
 * every rotation) committed before the lock was granted.
 */
export async function beginLocked(client: pg.PoolClient, asyncCommit: boolean): Promise<{ head: ChainState; keys: KeyState }> {
  const results = (await client.query(
    `BEGIN; SET LOCAL synchronous_commit = ${asyncCommit ? "off" : "on"}; SELECT position, hash, frontier FROM annal.chain_head WHERE id = 1 FOR UPDATE; ${KEY_STATE_SQL}`,
  )) as unknown as [unknown, unknown, pg.QueryResult<HeadRow>, pg.QueryResult<KeyStateRow>];
  return { head: headFromRow(results[2]?.rows[0]), keys: keyStateFromRow(results[3]?.rows[0]) };
}

/** The chain head as committed now, without a lock (the optimistic path's starting point). */
export async function readHead(db: Queryable): Promise<ChainState> {
  const { rows } = await db.query<HeadRow>("SELECT position, hash, frontier FROM annal.chain_head WHERE id = 1");
  return headFromRow(rows[0]);
}

interface HeadRow {
  position: number;
  hash: Buffer;
  frontier: Buffer;
}

function headFromRow(row: HeadRow | undefined): ChainState {
  if (!row) throw new LedgerError("ERR_INTERNAL", "annal.chain_head is empty: the database was not migrated");
  return { position: row.position, hash: new Uint8Array(row.hash), frontier: decodeFrontier(row.position, row.frontier) };
}

/** Stream heads (only `streamIds`), stored idempotency records and already used event ids for a batch. */
export async function readSupporting(db: Queryable, batch: readonly QueuedAppend[], streamIds: readonly string[]): Promise<SupportingState> {
  const streams = new Map<string, StreamState>();
  if (streamIds.length > 0) {
    const { rows } = await db.query<{ stream_id: string; version: number; last_hash: Buffer }>({
      name: "annal_read_streams",
      text: "SELECT stream_id, version, last_hash FROM annal.streams WHERE stream_id = ANY($1::text[])",
      values: [streamIds],
    });
    for (const r of rows) streams.set(r.stream_id, { version: r.version, lastHash: new Uint8Array(r.last_hash) });
  }
  const idempotency = new Map<string, IdempotencyHit>();
  const keyed = batch.filter((w) => w.request.idempotencyKey !== undefined);
  if (keyed.length > 0) {
    const { rows } = await db.query<{ principal: string; key: string; request_hash: Buffer; receipt: string }>(
      `SELECT i.principal, i.key, i.request_hash, i.receipt FROM annal.idempotency i
       JOIN unnest($1::text[], $2::text[]) AS k(principal, key) ON i.principal = k.principal AND i.key = k.key`,
      [keyed.map((w) => w.principal), keyed.map((w) => w.request.idempotencyKey!)],
    );
    for (const r of rows) idempotency.set(idempotencyMapKey(r.principal, r.key), { fingerprint: new Uint8Array(r.request_hash), receipt: r.receipt });
  }
  const clientIds = batch.flatMap((w) => w.request.events.flatMap((e) => (e.eventId === undefined ? [] : [e.eventId])));
  const existingIds = new Set<string>();
  if (clientIds.length > 0) {
    const { rows } = await db.query<{ event_id: string }>("SELECT event_id::text AS event_id FROM annal.events WHERE event_id = ANY($1::uuid[])", [clientIds]);
    for (const r of rows) existingIds.add(r.event_id);
  }
  return { streams, idempotency, existingIds };
}

// Data-modifying CTEs: the whole batch is one statement (one round trip), and the events,
// payloads, stream heads, chain head, checkpoint, idempotency records and Merkle nodes
// land or fail together. The chain head only moves if it is still the base the batch was
// planned on (position and hash): otherwise annal.batch_conflict() aborts the statement.
// The main query reads hd first, so every batch statement takes the head row lock before
// it writes anything else: statements sent back to back commit in the order they were planned.
// Under the head lock that always holds; on the optimistic path it is the whole check,
// since the head hash commits to every event before it.
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
  -- The guard: the head must still be the base the batch was planned on. It is computed in
  -- SET, not checked in WHERE, so that a batch sent while the batch it extends is still
  -- committing waits for that commit on the head row, and READ COMMITTED then recomputes SET
  -- on the row as that commit left it (EvalPlanQual): the pipelined batch lands right after
  -- its base. A WHERE guard is checked against the statement's snapshot, before the wait,
  -- and would fail every such batch. Off its base the row is set to -1, and the main query
  -- aborts the statement (nothing of it lands). No error may be raised in SET: it would be
  -- raised on the snapshot's row, before the wait.
  UPDATE annal.chain_head SET position = CASE WHEN position = $29 AND hash = $30 THEN $19 ELSE -1 END, hash = $20, frontier = $21 WHERE id = 1
  RETURNING position
), cp AS (
  INSERT INTO annal.checkpoints (tree_size, root_hash, chain_head, note, key_id)
  VALUES ($19, $22, $20, $23, $24)
  RETURNING 1
), ik AS (
  INSERT INTO annal.idempotency (principal, key, request_hash, receipt)
  SELECT * FROM unnest($25::text[], $26::text[], $27::bytea[], $28::text[])
  RETURNING 1
), dh AS (
  -- A batch committed synchronously is durable at COMMIT: it moves the durable head itself.
  UPDATE annal.durable_head SET position = greatest(position, $19) WHERE id = 1 AND $34::boolean
  RETURNING 1
), mn AS (
  INSERT INTO annal.merkle_nodes (level, index, hash)
  SELECT * FROM unnest($31::smallint[], $32::bigint[], $33::bytea[])
  RETURNING 1
)
SELECT CASE WHEN (SELECT position FROM hd) = $19 THEN (SELECT count(*) FROM ev) ELSE annal.batch_conflict() END AS events,
       (SELECT count(*) FROM pl) AS payloads, (SELECT count(*) FROM st) AS streams, (SELECT count(*) FROM cp) AS checkpoints,
       (SELECT count(*) FROM ik) AS keys, (SELECT count(*) FROM mn) AS nodes`;

const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Writes a plan whose events extend `base`; throws (SQLSTATE AN409) if the head has moved.
 * `durableAtCommit`: the session commits synchronously, so the statement also moves
 * annal.durable_head (otherwise durable-flush.ts does, after the WAL flush).
 */
export async function writePlan(db: Queryable, plan: BatchPlan, base: ChainState, durableAtCommit: boolean): Promise<void> {
  const e = plan.events;
  const cp = plan.checkpoint!;
  const streams = [...plan.streams.entries()];
  // Named: parsed once per connection instead of per batch.
  const { rows } = await db.query<{ events: number }>({
    name: "annal_write_batch",
    text: WRITE_BATCH,
    // Arrays in PostgreSQL's binary format (binary-array.ts): no hex or escaping either side.
    values: [
      binaryArray("int8", e.map((x) => x.header.position)),
      binaryArray("text", e.map((x) => x.header.streamId)),
      binaryArray("int8", e.map((x) => x.header.streamVersion)),
      binaryArray("uuid", e.map((x) => x.header.eventId)),
      binaryArray("text", e.map((x) => x.header.type)),
      binaryArray("text", e.map((x) => x.header.recordedAt)),
      binaryArray("text", e.map((x) => x.metadataJson)),
      binaryArray("bytea", e.map((x) => Buffer.from(x.header.dataHash, "base64"))),
      binaryArray("bytea", e.map((x) => Buffer.from(x.header.prevHash, "base64"))),
      binaryArray("bytea", e.map((x) => Buffer.from(x.header.streamPrevHash, "base64"))),
      binaryArray("bytea", e.map((x) => x.hash)),
      binaryArray("text", e.map((x) => x.header.keyId)),
      binaryArray("bytea", e.map((x) => x.signature)),
      binaryArray("text", e.map((x) => x.dataJson)),
      binaryArray("bytea", e.map((x) => x.salt)),
      binaryArray("text", streams.map(([id]) => id)),
      binaryArray("int8", streams.map(([, s]) => s.version)),
      binaryArray("bytea", streams.map(([, s]) => s.lastHash)),
      plan.head.position,
      buf(plan.head.hash),
      encodeFrontier(plan.head.frontier),
      buf(cp.rootHash),
      cp.note,
      e[0]!.header.keyId,
      binaryArray("text", plan.idempotency.map((i) => i.principal)),
      binaryArray("text", plan.idempotency.map((i) => i.key)),
      binaryArray("bytea", plan.idempotency.map((i) => i.fingerprint)),
      binaryArray("text", plan.idempotency.map((i) => i.receipt)),
      base.position,
      buf(base.hash),
      binaryArray("int2", plan.nodes.map((n) => n.level)),
      binaryArray("int8", plan.nodes.map((n) => n.index)),
      binaryArray("bytea", plan.nodes.map((n) => n.hash)),
      durableAtCommit,
    ],
  });
  if (Number(rows[0]?.events) !== e.length) throw new LedgerError("ERR_INTERNAL", `batch write wrote ${rows[0]?.events} of ${e.length} events`);
}

/** The batch statement found the chain head elsewhere than its plan's base (SQLSTATE AN409). */
export function isHeadConflict(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === "AN409";
}

/** The optimistic write lost a race (head moved, or a unique key taken meanwhile): retry under the lock. */
export function isWriteConflict(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === "AN409" || code === "23505";
}

// crypto.hash (Node 20.12+, and Bun) is one-shot: no Hash object per call, which is most
// of the cost at these sizes (a few hundred bytes).
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "buffer") => Buffer }).hash;

/** SHA-256 over the concatenation of parts, with OpenSSL. */
export function nodeSha256(...parts: Uint8Array[]): Uint8Array {
  if (oneShot) return oneShot("sha256", parts.length === 1 ? parts[0]! : Buffer.concat(parts), "buffer");
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

/** Publishes the signer's public key in annal.signing_keys (idempotent). */
export async function registerSigningKey(pool: pg.Pool, signer: { keyId: string; publicKey: Uint8Array; noteName: string }): Promise<void> {
  await pool.query(
    "INSERT INTO annal.signing_keys (key_id, algorithm, public_key, note_name) VALUES ($1, 'Ed25519', $2, $3) ON CONFLICT (key_id) DO NOTHING",
    [signer.keyId, Buffer.from(signer.publicKey), signer.noteName],
  );
}

/** Which key signs: read under the chain-head lock, so every instance switches at one position. */
export interface KeyState {
  /** The key in force (from_position set, to_position NULL); null before the first append. */
  activeKeyId: string | null;
  /** The key the active one replaced, and when (for the checkpoint overlap). */
  previous?: { keyId: string; until: Date };
}

/** The key state as of the caller's transaction; call it holding the chain-head lock. */
const KEY_STATE_SQL = `SELECT a.key_id, p.key_id AS previous_key, p.valid_to AS previous_until
       FROM annal.signing_keys a LEFT JOIN annal.signing_keys p ON p.to_position = a.from_position - 1 AND p.from_position IS NOT NULL
      WHERE a.from_position IS NOT NULL AND a.to_position IS NULL`;

interface KeyStateRow {
  key_id: string;
  previous_key: string | null;
  previous_until: Date | null;
}

function keyStateFromRow(row: KeyStateRow | undefined): KeyState {
  if (!row) return { activeKeyId: null };
  return { activeKeyId: row.key_id, ...(row.previous_key && row.previous_until ? { previous: { keyId: row.previous_key, until: row.previous_until } } : {}) };
}

/** Puts the first key in force at `fromPosition` (a log that no key has signed yet). */
export async function claimFirstKey(db: Queryable, signer: { keyId: string; publicKey: Uint8Array; noteName: string }, fromPosition: number): Promise<void> {
  await db.query(
    `INSERT INTO annal.signing_keys (key_id, algorithm, public_key, note_name, from_position) VALUES ($1, 'Ed25519', $2, $3, $4)
     ON CONFLICT (key_id) DO UPDATE SET from_position = EXCLUDED.from_position WHERE annal.signing_keys.from_position IS NULL`,
    [signer.keyId, Buffer.from(signer.publicKey), signer.noteName, fromPosition],
  );
}

/**
 * Closes the old key's window at the KeyRotated event's position and opens the new key's
 * at the next one, in the transaction that writes the event. Refuses a key that was in
 * force before: a window, once closed, never reopens.
 */
export async function recordRotation(db: Queryable, rotation: { previousKeyId: string; position: number; next: { keyId: string; publicKey: Uint8Array; noteName: string } }): Promise<void> {
  const closed = await db.query("UPDATE annal.signing_keys SET to_position = $2, valid_to = now() WHERE key_id = $1 AND to_position IS NULL AND from_position IS NOT NULL", [
    rotation.previousKeyId,
    rotation.position,
  ]);
  const opened = await db.query(
    `INSERT INTO annal.signing_keys (key_id, algorithm, public_key, note_name, from_position, valid_from) VALUES ($1, 'Ed25519', $2, $3, $4, now())
     ON CONFLICT (key_id) DO UPDATE SET from_position = EXCLUDED.from_position, valid_from = now() WHERE annal.signing_keys.from_position IS NULL`,
    [rotation.next.keyId, Buffer.from(rotation.next.publicKey), rotation.next.noteName, rotation.position + 1],
  );
  if (closed.rowCount !== 1 || opened.rowCount !== 1) throw new LedgerError("ERR_CONFLICT", `key ${rotation.next.keyId} cannot be put in force: it was in force before, or key ${rotation.previousKeyId} is not`);
}

/** Whether a key was ever in force (a rotation may not bring it back). */
export async function wasInForce(db: Queryable, keyId: string): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM annal.signing_keys WHERE key_id = $1 AND from_position IS NOT NULL", [keyId]);
  return rows.length > 0;
}
