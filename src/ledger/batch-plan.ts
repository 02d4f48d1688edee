import {
  canonicalJsonUnchecked,
  createMerkleAccumulator,
  equalBytes,
  dataHashInput,
  eventHashInput,
  formatCheckpointBody,
  formatNote,
  merkleHashers,
  LedgerError,
  noteKeyHash,
  toBase64,
  utf8,
  type EventHeader,
  type JsonObject,
  type MerkleFrontier,
} from "../core/index.js";
import type { Signer } from "../keys/index.js";
import type { AppendRequest, Receipt } from "./types.js";

/** The durable state an append batch starts from, read under the chain-head lock. */
export interface ChainState {
  position: number;
  hash: Uint8Array;
  frontier: MerkleFrontier;
}

export interface StreamState {
  version: number;
  lastHash: Uint8Array;
}

/**
 * An event with everything that does not depend on its position already computed
 * (canonical JSON, salt, data hash, id), so the sequencer's critical section only
 * chains, hashes headers and signs.
 */
export interface PreparedEvent {
  type: string;
  eventId: string;
  metadata: JsonObject;
  metadataJson: string;
  dataJson: string;
  salt: Uint8Array;
  dataHash: string;
}

export interface QueuedAppend {
  request: AppendRequest;
  principal: string;
  /** Hash of the request as sent, compared with a stored idempotency record; only with an Idempotency-Key. */
  fingerprint?: Uint8Array;
  prepared: readonly PreparedEvent[];
}

/** SHA-256 over the concatenation of parts (the core's, or a native one). */
export type Hasher = (...parts: Uint8Array[]) => Uint8Array;

/**
 * Computes the position-independent part of each event. The request MUST have passed
 * assertAppendRequest, which checked data and metadata are I-JSON: they are serialised
 * here without checking again.
 */
export function prepareEvents(request: AppendRequest, deps: { randomBytes(length: number): Uint8Array; randomUUID(): string; hash: Hasher }): PreparedEvent[] {
  return request.events.map((input) => {
    const salt = deps.randomBytes(32);
    const dataJson = canonicalJsonUnchecked(input.data);
    const metadata: JsonObject = input.metadata ?? {};
    return {
      type: input.type,
      eventId: input.eventId ?? deps.randomUUID(),
      metadata,
      metadataJson: canonicalJsonUnchecked(metadata),
      dataJson,
      salt,
      dataHash: toBase64(deps.hash(...dataHashInput(salt, dataJson))),
    };
  });
}

export interface IdempotencyHit {
  fingerprint: Uint8Array;
  receipt: string;
}

/** One row of annal.events plus its payload, ready for the multi-row insert. */
export interface PlannedEvent {
  header: EventHeader;
  metadataJson: string;
  dataJson: string;
  salt: Uint8Array;
  hash: Uint8Array;
  signature: Uint8Array;
}

export type Outcome = { ok: true; receipt: Receipt; replayed: boolean } | { ok: false; error: LedgerError };

export interface BatchPlan {
  events: PlannedEvent[];
  streams: Map<string, StreamState>;
  head: ChainState;
  /** The signed checkpoint at `head` (its size and chain head are the head's). */
  checkpoint?: { rootHash: Uint8Array; note: string };
  idempotency: Array<{ principal: string; key: string; fingerprint: Uint8Array; receipt: string }>;
  /** Completed Merkle subtrees at the stored levels (multiples of 4). */
  nodes: Array<{ level: number; index: number; hash: Uint8Array }>;
  outcomes: Outcome[];
}

/** Levels of annal.merkle_nodes: every 4th, so a proof reads at most 8 rows per node it needs. */
export const STORED_LEVEL_STRIDE = 4;

export interface PlanDeps {
  /** The key in force at the batch's positions (read under the chain-head lock). */
  signer: Signer;
  /**
   * During a rotation's overlap: the previous key, which signs the checkpoint too (a
   * second signature line), for verifiers and witnesses that still trust only it.
   */
  overlapSigner?: Signer;
  origin: string;
  recordedAt: string;
  hash: Hasher;
}

const ZERO = new Uint8Array(32);
const NO_SIGNATURE = new Uint8Array(0);

function versionConflict(request: AppendRequest, actual: number): LedgerError | undefined {
  const expected = request.expectedVersion ?? "any";
  const fail = (wanted: string) =>
    new LedgerError("ERR_EXPECTED_VERSION", `stream ${request.streamId} is at version ${actual}, expected ${wanted}`, {
      details: { streamId: request.streamId, expectedVersion: expected, actualVersion: actual },
    });
  if (expected === "any") return undefined;
  if (expected === "no_stream") return actual === 0 ? undefined : fail("no stream");
  if (expected === "stream_exists") return actual > 0 ? undefined : fail("an existing stream");
  return actual === expected ? undefined : fail(String(expected));
}

/**
 * Decides every append of a batch against `start` and `streams`, in queue order (so two
 * appends to one stream in one batch see each other), and builds the rows, hashes,
 * signatures and the checkpoint. Pure but for the injected signer. The caller writes
 * the plan guarded on `start` (batch-store.ts), so a plan made on stale state never lands.
 */
export async function planBatch(
  deps: PlanDeps,
  start: ChainState,
  streams: Map<string, StreamState>,
  queued: readonly QueuedAppend[],
  idempotencyHits: Map<string, IdempotencyHit>,
  existingEventIds: Set<string>,
): Promise<BatchPlan> {
  const nodes: BatchPlan["nodes"] = [];
  const tree = createMerkleAccumulator(
    start.frontier,
    (level, index, hash) => {
      if (level % STORED_LEVEL_STRIDE === 0) nodes.push({ level, index, hash });
    },
    deps.hash,
  );
  const leafOf = merkleHashers(deps.hash).leaf;
  let position = start.position;
  let prevHash = start.hash;
  const touched = new Map<string, StreamState>();
  const events: PlannedEvent[] = [];
  const outcomes: Outcome[] = [];
  const accepted: Array<{ index: number; first: number; count: number }> = [];
  const idempotency: BatchPlan["idempotency"] = [];
  const seenIds = new Set(existingEventIds);
  const keyHash = noteKeyHash(deps.origin, deps.signer.publicKey);

  queued.forEach((item, index) => {
    const { request } = item;
    const key = request.idempotencyKey;
    if (key !== undefined) {
      const hit = idempotencyHits.get(idempotencyMapKey(item.principal, key));
      if (hit) {
        outcomes[index] = item.fingerprint !== undefined && equalBytes(hit.fingerprint, item.fingerprint)
          ? { ok: true, receipt: JSON.parse(hit.receipt) as Receipt, replayed: true }
          : { ok: false, error: new LedgerError("ERR_IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request", { details: { idempotencyKey: key } }) };
        return;
      }
    }
    const duplicate = request.events.find((e) => e.eventId !== undefined && seenIds.has(e.eventId));
    if (duplicate) {
      outcomes[index] = { ok: false, error: new LedgerError("ERR_DUPLICATE_EVENT", `event ${duplicate.eventId} already exists`, { details: { eventId: duplicate.eventId } }) };
      return;
    }
    const stream = touched.get(request.streamId) ?? streams.get(request.streamId) ?? { version: 0, lastHash: ZERO };
    const conflict = versionConflict(request, stream.version);
    if (conflict) {
      outcomes[index] = { ok: false, error: conflict };
      return;
    }
    const first = events.length;
    let version = stream.version;
    let streamPrev = stream.lastHash;
    for (const input of item.prepared) {
      position++;
      version++;
      seenIds.add(input.eventId);
      const header: EventHeader = {
        position,
        streamId: request.streamId,
        streamVersion: version,
        eventId: input.eventId,
        type: input.type,
        recordedAt: deps.recordedAt,
        metadata: input.metadata,
        dataHash: input.dataHash,
        prevHash: toBase64(prevHash),
        streamPrevHash: toBase64(streamPrev),
        keyId: deps.signer.keyId,
      };
      const hash = deps.hash(...eventHashInput(header));
      // Signed below, all at once: the chain needs only the hashes.
      events.push({ header, metadataJson: input.metadataJson, dataJson: input.dataJson, salt: input.salt, hash, signature: NO_SIGNATURE });
      tree.append(leafOf(hash));
      prevHash = hash;
      streamPrev = hash;
    }
    touched.set(request.streamId, { version, lastHash: streamPrev });
    accepted.push({ index, first, count: request.events.length });
  });

  const plan: BatchPlan = { events, streams: touched, head: start, idempotency, nodes, outcomes };
  if (events.length === 0) return plan;

  const rootHash = tree.root();
  const body = formatCheckpointBody({ origin: deps.origin, treeSize: position, rootHash: toBase64(rootHash), chainHead: toBase64(prevHash) });
  const [signatures, overlap] = await Promise.all([
    deps.signer.signMany([...events.map((e) => e.hash), utf8(body)]),
    deps.overlapSigner?.signMany([utf8(body)]),
  ]);
  events.forEach((e, i) => (e.signature = signatures[i]!));
  const lines = [{ name: deps.origin, keyHash, signature: signatures[events.length]! }];
  if (deps.overlapSigner && overlap) lines.push({ name: deps.origin, keyHash: noteKeyHash(deps.origin, deps.overlapSigner.publicKey), signature: overlap[0]! });
  const note = formatNote(body, lines);
  plan.checkpoint = { rootHash, note };
  plan.head = { position, hash: prevHash, frontier: tree.frontier() };
  const checkpoint = { treeSize: position, rootHash: toBase64(rootHash), note };

  for (const { index, first, count } of accepted) {
    const item = queued[index]!;
    const mine = events.slice(first, first + count);
    const receipt: Receipt = {
      streamId: item.request.streamId,
      streamVersion: mine[mine.length - 1]!.header.streamVersion,
      events: mine.map((e) => ({
        position: e.header.position,
        streamVersion: e.header.streamVersion,
        eventId: e.header.eventId,
        hash: toBase64(e.hash),
        keyId: e.header.keyId,
        signature: toBase64(e.signature),
      })),
      checkpoint,
    };
    outcomes[index] = { ok: true, receipt, replayed: false };
    if (item.request.idempotencyKey !== undefined && item.fingerprint !== undefined) {
      idempotency.push({ principal: item.principal, key: item.request.idempotencyKey, fingerprint: item.fingerprint, receipt: JSON.stringify(receipt) });
    }
  }
  return plan;
}

export function idempotencyMapKey(principal: string, key: string): string {
  return `${principal}\u0000${key}`;
}
