import { DOMAIN_DATA, DOMAIN_EVENT, eventHeaderJson, sha256, utf8 } from "../core/index.js";
import * as crypto from "node:crypto";
import type { BinaryRow } from "../store/postgres/copy-out.js";
import type { SignedEvent } from "./event-signature.js";
import { writeHeaderBytes, type HeaderFields } from "./header-bytes.js";

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
  /** SHA-256 of one array as 32 latin1 characters (one per byte): the data and event hashes, which are compared, not kept as bytes. */
  hashText: (data: Uint8Array) => string;
  /** The signature check of one event, or undefined for --fast (no event signatures). */
  checkSignature?: (event: SignedEvent, position: number) => string | undefined;
}

/**
 * Checks the rows of one range as docs/verification.md section 9 step 2 does, except for
 * the links that point before the range (the first event's prevHash, each stream's first
 * version and streamPrevHash): those are returned for the join. Hashes the stored bytes
 * as they are: the data's stored canonical text and the metadata's, never re-serialised.
 *
 * Hashes are held as 32-character latin1 strings while the range is checked (event
 * hashes, Merkle leaves and nodes): node:crypto returns a digest as a string in about half
 * the time it takes to return a new Buffer (about 0.35-0.6 µs against 1-1.5 µs for 33 to
 * 450 bytes), and four or five digests are taken per event.
 */
export function createRangeChecker(job: RangeJob, options: RangeCheckerOptions) {
  const { hashText } = options;
  let scratch = Buffer.allocUnsafe(16384);
  DOMAIN_EVENT.forEach((byte, i) => (scratch[i] = byte));
  const dataScratch = Buffer.allocUnsafe(8192);
  DOMAIN_DATA.forEach((byte, i) => (dataScratch[i] = byte));
  const tree = createTextMerkle(hashText);
  const checkpointAt = new Set(job.checkpointSizes);
  const streams = new Map<string, { version: number; hash: string }>();
  const result: RangeResult = { id: job.id, from: job.from, verified: 0, streamEntries: [], streamExits: [], checkpoints: [], frontier: [] };
  let expected = job.from;
  let prevHash: string | undefined;
  let done = false;
  // One header description, refilled for every row (no objects per event).
  const fields: HeaderFields & Record<"streamId" | "eventId" | "type" | "recordedAt" | "keyId" | "metadata", [number, number]> = {
    buffer: Buffer.alloc(0),
    position: 0,
    streamVersion: 0,
    streamId: [0, 0],
    eventId: [0, 0],
    type: [0, 0],
    recordedAt: [0, 0],
    keyId: [0, 0],
    metadata: [0, 0],
    dataHash: 0,
    prevHash: 0,
    streamPrevHash: 0,
  };

  const fail = (position: number, reason: string, signature = false) => {
    result.failure = { position, reason, signature };
    done = true;
  };

  function push(row: BinaryRow): void {
    if (done) return;
    const { buffer: b, starts: s, lengths: n } = row;
    const position = int8(b, s[POSITION]!);
    if (position !== expected) {
      if (position < expected) return fail(expected, `position ${position} repeated or out of order`);
      return fail(expected, `position ${expected} is missing (next seen: ${position})`);
    }
    if (n[HASH] !== 32) return fail(position, "hash is not 32 bytes of base64");
    if (n[DATA]! >= 0) {
      if (n[SALT]! < 0) return fail(position, "data salt missing or malformed");
      if (!equalText(b, s[DATA_HASH]!, n[DATA_HASH]!, dataHash(b, s[SALT]!, n[SALT]!, s[DATA]!, n[DATA]!))) return fail(position, "data does not match dataHash");
    }
    const streamId = b.toString("utf8", s[STREAM_ID], s[STREAM_ID]! + n[STREAM_ID]!);
    const streamVersion = int8(b, s[STREAM_VERSION]!);
    let computed: string;
    try {
      computed = eventHash(row, position, streamVersion);
    } catch (error) {
      return fail(position, `header cannot be canonicalised: ${(error as Error).message}`);
    }
    if (!equalText(b, s[HASH]!, 32, computed)) return fail(position, "event hash does not match its header");
    if (prevHash === undefined) result.firstPrevHash = copyOf(b, s[PREV_HASH]!, n[PREV_HASH]!);
    else if (!equalText(b, s[PREV_HASH]!, n[PREV_HASH]!, prevHash)) return fail(position, "prevHash does not link to the previous event");
    const stream = streams.get(streamId);
    if (stream === undefined) {
      result.streamEntries.push([streamId, streamVersion, copyOf(b, s[STREAM_PREV_HASH]!, n[STREAM_PREV_HASH]!), position]);
    } else {
      if (streamVersion !== stream.version + 1) return fail(position, `stream ${streamId} version ${streamVersion}, expected ${stream.version + 1}`);
      if (!equalText(b, s[STREAM_PREV_HASH]!, n[STREAM_PREV_HASH]!, stream.hash)) return fail(position, `streamPrevHash does not link to the previous event of stream ${streamId}`);
    }
    if (options.checkSignature) {
      const signature = n[SIGNATURE]! < 0 ? new Uint8Array(0) : b.subarray(s[SIGNATURE], s[SIGNATURE]! + n[SIGNATURE]!);
      const reason = options.checkSignature({ keyId: b.toString("utf8", s[KEY_ID], s[KEY_ID]! + n[KEY_ID]!), hash: bytesOf(computed), signature }, position);
      if (reason !== undefined) return fail(position, reason, true);
    }
    if (stream === undefined) streams.set(streamId, { version: streamVersion, hash: computed });
    else {
      stream.version = streamVersion;
      stream.hash = computed;
    }
    prevHash = computed;
    tree.appendEvent(computed);
    result.verified++;
    if (checkpointAt.has(position)) result.checkpoints.push({ size: position, frontier: tree.frontier(), chainHead: bytesOf(computed) });
    expected++;
    if (expected > job.to) done = true;
  }

  /** SHA-256(DOMAIN_DATA || salt || data) over the stored bytes, as text. */
  function dataHash(b: Buffer, salt: number, saltLength: number, data: number, dataLength: number): string {
    const at = DOMAIN_DATA.length;
    if (at + saltLength + dataLength > dataScratch.length) return hashText(Buffer.concat([DOMAIN_DATA, b.subarray(salt, salt + saltLength), b.subarray(data, data + dataLength)]));
    b.copy(dataScratch, at, salt, salt + saltLength);
    b.copy(dataScratch, at + saltLength, data, data + dataLength);
    return hashText(dataScratch.subarray(0, at + saltLength + dataLength));
  }

  /** The event hash of a row: its header bytes written straight from the stored ones, or the general path when a field needs escaping. */
  function eventHash(row: BinaryRow, position: number, streamVersion: number): string {
    const { buffer: b, starts: s, lengths: n } = row;
    const need = DOMAIN_EVENT.length + 400 + n[METADATA]! + n[STREAM_ID]! + n[EVENT_ID]! + n[TYPE]! + n[RECORDED_AT]! + n[KEY_ID]!;
    if (scratch.length < need) {
      scratch = Buffer.allocUnsafe(need * 2);
      DOMAIN_EVENT.forEach((byte, i) => (scratch[i] = byte));
    }
    let end = -1;
    if (Number.isSafeInteger(position) && Number.isSafeInteger(streamVersion) && n[DATA_HASH] === 32 && n[PREV_HASH] === 32 && n[STREAM_PREV_HASH] === 32) {
      fields.buffer = b;
      fields.position = position;
      fields.streamVersion = streamVersion;
      span(fields.streamId, s, n, STREAM_ID);
      span(fields.eventId, s, n, EVENT_ID);
      span(fields.type, s, n, TYPE);
      span(fields.recordedAt, s, n, RECORDED_AT);
      span(fields.keyId, s, n, KEY_ID);
      span(fields.metadata, s, n, METADATA);
      fields.dataHash = s[DATA_HASH]!;
      fields.prevHash = s[PREV_HASH]!;
      fields.streamPrevHash = s[STREAM_PREV_HASH]!;
      end = writeHeaderBytes(scratch, DOMAIN_EVENT.length, fields);
    }
    if (end >= 0) return hashText(scratch.subarray(0, end));
    return Buffer.from(generalEventHash(row, position, streamVersion)).toString("latin1");
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
      if (prevHash !== undefined) result.lastHash = bytesOf(prevHash);
      for (const [id, s] of streams) result.streamExits.push([id, s.version, bytesOf(s.hash)]);
      result.frontier = tree.frontier();
      return result;
    },
  };
}

/** The event hash through core eventHeaderJson (a field JSON escapes, or a column of an unexpected size). */
function generalEventHash(row: BinaryRow, position: number, streamVersion: number): Uint8Array {
  const { buffer: b, starts: s, lengths: n } = row;
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
  return sha256(DOMAIN_EVENT, utf8(header));
}

function span(to: [number, number], s: Int32Array, n: Int32Array, i: number): void {
  to[0] = s[i]!;
  to[1] = s[i]! + n[i]!;
}

/** Whether the `length` stored bytes at b[at..] are the hash `h` held as latin1 text (a NULL column, length -1, never is). */
function equalText(b: Buffer, at: number, length: number, h: string): boolean {
  if (length !== h.length) return false;
  for (let i = 0; i < length; i++) if (b[at + i] !== h.charCodeAt(i)) return false;
  return true;
}

/** A hash held as latin1 text, as bytes in an ArrayBuffer of their own. */
function bytesOf(h: string): Uint8Array {
  const out = new Uint8Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = h.charCodeAt(i);
  return out;
}

// "binary" is node:crypto's name for latin1: one character per byte.
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "binary") => string }).hash;

/** SHA-256 as 32 latin1 characters, through node:crypto (its one-shot hash where the runtime has it). */
export function sha256Text(data: Uint8Array): string {
  return oneShot ? oneShot("sha256", data, "binary") : crypto.createHash("sha256").update(data).digest("binary");
}

/** The stored bytes at b[at..] in an array of their own (not a view of the COPY buffer); empty for NULL. */
function copyOf(b: Buffer, at: number, length: number): Uint8Array {
  return length < 0 ? new Uint8Array(0) : new Uint8Array(b.subarray(at, at + length));
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

/**
 * An RFC 9162 Merkle tree over event hashes held as latin1 text (as core
 * createMerkleAccumulator, which takes bytes): leaf = SHA-256(0x00 || event hash), node =
 * SHA-256(0x01 || left || right), appended one leaf at a time; the frontier is the roots
 * of its perfect subtrees, largest first.
 */
function createTextMerkle(hashText: (data: Uint8Array) => string) {
  const leafInput = new Uint8Array(33); // 0x00 || event hash
  const nodeInput = new Uint8Array(65); // 0x01 || left || right
  nodeInput[0] = 1;
  const stack: string[] = [];
  let size = 0;
  return {
    appendEvent(eventHash: string): void {
      for (let i = 0; i < 32; i++) leafInput[1 + i] = eventHash.charCodeAt(i);
      let node = hashText(leafInput);
      // Merge while the lowest bits of size are 1: each merge completes a perfect subtree.
      for (let s = size; s % 2 === 1; s = (s - 1) / 2) {
        const left = stack.pop()!;
        for (let i = 0; i < 32; i++) {
          nodeInput[1 + i] = left.charCodeAt(i);
          nodeInput[33 + i] = node.charCodeAt(i);
        }
        node = hashText(nodeInput);
      }
      stack.push(node);
      size++;
    },
    frontier(): Uint8Array[] {
      return stack.map(bytesOf);
    },
  };
}
