import { createMerkleAccumulator, DOMAIN_DATA, DOMAIN_EVENT, eventHeaderJson, merkleHashers, utf8, type Sha256 } from "../core/index.js";
import type { BinaryRow } from "../store/postgres/copy-out.js";
import type { SignedEvent } from "./event-signature.js";
import { writeHeaderBytes } from "./header-bytes.js";

/**
 * One aligned range of positions `from..to` for a range worker. `checkpointSizes` are the
 * checkpointed tree sizes inside it, whose Merkle frontier and chain head the worker
 * hands back so the main thread can check those checkpoints.
 */
export interface RangeJob {
  id: number;
  from: number;
  to: number;
  /** The log's size when verification began: rows beyond it are not verified. */
  total: number;
  checkpointSizes: number[];
}

/** A stream's first event in a range: its links to earlier ranges, checked when ranges are joined. */
export type StreamEntry = [streamId: string, version: number, streamPrevHash: Uint8Array, position: number];
/** A stream's last event in a range: what the next range's first event of the stream links to. */
export type StreamExit = [streamId: string, version: number, hash: Uint8Array];

export interface RangeResult {
  id: number;
  from: number;
  /** Events verified from `from` on, in order: all of the range unless it failed or the log ended. */
  verified: number;
  /** The first failure inside the range; `signature` when it is the signature check, which comes after the links. */
  failure?: { position: number; reason: string; signature: boolean };
  /** No event at `from + verified` nor after it up to the log's size: the log ends there. */
  ended?: boolean;
  /** prevHash of the event at `from`: must be the previous range's last hash. */
  firstPrevHash?: Uint8Array;
  lastHash?: Uint8Array;
  streamEntries: StreamEntry[];
  streamExits: StreamExit[];
  /** Per checkpointed size inside the range: the frontier of the leaves from `from` to it, and the event hash at it. */
  checkpoints: Array<{ size: number; frontier: Uint8Array[]; chainHead: Uint8Array }>;
  /** The frontier of the leaves verified in the range (one hash when the range is complete and aligned). */
  frontier: Uint8Array[];
}

/** Column order of the COPY a range reads (RANGE_COLUMNS, then the signature with signatures on). */
export const RANGE_COLUMNS = `e.position, e.stream_id, e.stream_version, e.event_id::text, e.type, e.recorded_at, e.metadata,
  e.data_hash, e.prev_hash, e.stream_prev_hash, e.hash, e.key_id, p.data, p.salt`;
const POSITION = 0, STREAM_ID = 1, STREAM_VERSION = 2, EVENT_ID = 3, TYPE = 4, RECORDED_AT = 5, METADATA = 6;
const DATA_HASH = 7, PREV_HASH = 8, STREAM_PREV_HASH = 9, HASH = 10, KEY_ID = 11, DATA = 12, SALT = 13, SIGNATURE = 14;

export interface RangeCheckerOptions {
  hash: Sha256;
  /** The signature check of one event, or undefined for --fast (no event signatures). */
  checkSignature?: (event: SignedEvent, position: number) => string | undefined;
}

/**
 * Checks the rows of one range as docs/verification.md section 9 step 2 does, except for
 * the links that point before the range (the first event's prevHash, each stream's first
 * version and streamPrevHash): those are returned for the join. Hashes the stored bytes
 * as they are: the data's stored canonical text and the metadata's, never re-serialised.
 */
export function createRangeChecker(job: RangeJob, options: RangeCheckerOptions) {
  const hash = scratchHash(options.hash);
  let scratch = Buffer.allocUnsafe(16384);
  DOMAIN_EVENT.forEach((byte, i) => (scratch[i] = byte));
  const leafOf = merkleHashers(hash).leaf;
  const tree = createMerkleAccumulator(undefined, undefined, hash);
  const checkpointAt = new Set(job.checkpointSizes);
  const streams = new Map<string, { version: number; hash: Uint8Array }>();
  const result: RangeResult = { id: job.id, from: job.from, verified: 0, streamEntries: [], streamExits: [], checkpoints: [], frontier: [] };
  let expected = job.from;
  let prevHash: Uint8Array | undefined;
  let done = false;

  const fail = (position: number, reason: string, signature = false) => {
    result.failure = { position, reason, signature };
    done = true;
  };
  const copy = (b: Uint8Array) => new Uint8Array(b); // detached from the COPY buffer (and from Node's buffer pool)

  function push(row: BinaryRow): void {
    if (done) return;
    const { buffer: b, starts: s, lengths: n } = row;
    const position = int8(b, s[POSITION]!);
    if (position !== expected) {
      if (position < expected) return fail(expected, `position ${position} repeated or out of order`);
      return fail(expected, `position ${expected} is missing (next seen: ${position})`);
    }
    const stored = b.subarray(s[HASH], s[HASH]! + n[HASH]!);
    if (stored.length !== 32) return fail(position, "hash is not 32 bytes of base64");
    const dataHash = b.subarray(s[DATA_HASH], s[DATA_HASH]! + n[DATA_HASH]!);
    if (n[DATA]! >= 0) {
      if (n[SALT]! < 0) return fail(position, "data salt missing or malformed");
      const computedData = hash(DOMAIN_DATA, b.subarray(s[SALT], s[SALT]! + n[SALT]!), b.subarray(s[DATA], s[DATA]! + n[DATA]!));
      if (!bytesEqual(computedData, dataHash)) return fail(position, "data does not match dataHash");
    }
    const streamId = b.toString("utf8", s[STREAM_ID], s[STREAM_ID]! + n[STREAM_ID]!);
    const streamVersion = int8(b, s[STREAM_VERSION]!);
    const prev = b.subarray(s[PREV_HASH], s[PREV_HASH]! + n[PREV_HASH]!);
    const streamPrev = b.subarray(s[STREAM_PREV_HASH], s[STREAM_PREV_HASH]! + n[STREAM_PREV_HASH]!);
    let computed: Uint8Array;
    try {
      computed = eventHash(row, position, streamVersion);
    } catch (error) {
      return fail(position, `header cannot be canonicalised: ${(error as Error).message}`);
    }
    if (!bytesEqual(computed, stored)) return fail(position, "event hash does not match its header");
    if (prevHash === undefined) result.firstPrevHash = copy(prev);
    else if (!bytesEqual(prev, prevHash)) return fail(position, "prevHash does not link to the previous event");
    const stream = streams.get(streamId);
    if (stream === undefined) {
      result.streamEntries.push([streamId, streamVersion, copy(streamPrev), position]);
    } else {
      if (streamVersion !== stream.version + 1) return fail(position, `stream ${streamId} version ${streamVersion}, expected ${stream.version + 1}`);
      if (!bytesEqual(streamPrev, stream.hash)) return fail(position, `streamPrevHash does not link to the previous event of stream ${streamId}`);
    }
    if (options.checkSignature) {
      const signature = n[SIGNATURE]! < 0 ? new Uint8Array(0) : b.subarray(s[SIGNATURE], s[SIGNATURE]! + n[SIGNATURE]!);
      const reason = options.checkSignature({ keyId: b.toString("utf8", s[KEY_ID], s[KEY_ID]! + n[KEY_ID]!), hash: computed, signature }, position);
      if (reason !== undefined) return fail(position, reason, true);
    }
    const own = copy(computed);
    streams.set(streamId, { version: streamVersion, hash: own });
    prevHash = own;
    tree.append(leafOf(own));
    result.verified++;
    if (checkpointAt.has(position)) result.checkpoints.push({ size: position, frontier: tree.frontier().hashes.map(copy), chainHead: own });
    expected++;
    if (expected > job.to) done = true;
  }

  /** The event hash of a row: its header bytes written straight from the stored ones, or the general path when a field needs escaping. */
  function eventHash(row: BinaryRow, position: number, streamVersion: number): Uint8Array {
    const { buffer: b, starts: s, lengths: n } = row;
    const range = (i: number) => [s[i]!, s[i]! + n[i]!] as const;
    const need = DOMAIN_EVENT.length + 400 + n[METADATA]! + n[STREAM_ID]! + n[EVENT_ID]! + n[TYPE]! + n[RECORDED_AT]! + n[KEY_ID]!;
    if (scratch.length < need) scratch = Buffer.allocUnsafe(need * 2);
    const end =
      Number.isSafeInteger(position) && Number.isSafeInteger(streamVersion)
        ? writeHeaderBytes(scratch, DOMAIN_EVENT.length, {
            buffer: b,
            position,
            streamVersion,
            streamId: range(STREAM_ID),
            eventId: range(EVENT_ID),
            type: range(TYPE),
            recordedAt: range(RECORDED_AT),
            keyId: range(KEY_ID),
            metadata: range(METADATA),
            dataHash: s[DATA_HASH]!,
            prevHash: s[PREV_HASH]!,
            streamPrevHash: s[STREAM_PREV_HASH]!,
          })
        : -1;
    if (end >= 0) return hash(scratch.subarray(0, end));
    const text = (i: number) => b.toString("utf8", s[i], s[i]! + n[i]!);
    const b64 = (i: number) => b.toString("base64", s[i], s[i]! + n[i]!);
    const header = eventHeaderJson(
      {
        position,
        streamId: text(STREAM_ID),
        streamVersion,
        eventId: text(EVENT_ID),
        type: text(TYPE),
        recordedAt: text(RECORDED_AT),
        metadata: {},
        dataHash: b64(DATA_HASH),
        prevHash: b64(PREV_HASH),
        streamPrevHash: b64(STREAM_PREV_HASH),
        keyId: text(KEY_ID),
      },
      text(METADATA),
    );
    return hash(DOMAIN_EVENT, utf8(header));
  }

  return {
    push,
    /** Columns the COPY must select, in RANGE_COLUMNS order. */
    columns: options.checkSignature ? SIGNATURE + 1 : SALT + 1,
    /** The position the range expects next (where a gap or the log's end lies, if it stopped short). */
    get expected() {
      return expected;
    },
    get failed() {
      return result.failure !== undefined;
    },
    /** Closes the range: `nextSeen` is the first stored position after a short read, if any (undefined: none up to the log's size). */
    finish(nextSeen?: number): RangeResult {
      if (!result.failure && expected <= job.to) {
        if (nextSeen !== undefined && nextSeen <= job.total) fail(expected, `position ${expected} is missing (next seen: ${nextSeen})`);
        else result.ended = true;
      }
      if (prevHash) result.lastHash = prevHash;
      for (const [id, s] of streams) result.streamExits.push([id, s.version, s.hash]);
      result.frontier = tree.frontier().hashes.map(copy);
      return result;
    },
  };
}

/** The COPY query of a range (integers only: COPY takes no parameters). */
export function rangeQuery(from: number, to: number, signatures: boolean): string {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new RangeError("range bounds must be safe integers");
  return `SELECT ${RANGE_COLUMNS}${signatures ? ", e.signature" : ""} FROM annal.events e LEFT JOIN annal.payloads p ON p.position = e.position AND p.position BETWEEN ${from} AND ${to}
    WHERE e.position BETWEEN ${from} AND ${to} ORDER BY e.position`;
}

function int8(b: Buffer, at: number): number {
  return b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4);
}

/** `base` over the concatenation of the parts, copied into one reused buffer (no allocation per hash). */
function scratchHash(base: Sha256): Sha256 {
  const scratch = Buffer.allocUnsafe(8192);
  return (...parts) => {
    if (parts.length === 1) return base(parts[0]!);
    let n = 0;
    for (const part of parts) {
      if (n + part.length > scratch.length) return base(...parts);
      scratch.set(part, n);
      n += part.length;
    }
    return base(scratch.subarray(0, n));
  };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
