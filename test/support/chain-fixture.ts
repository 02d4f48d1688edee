// Builds valid, signed Annal event chains exactly as the ledger does, from fixed inputs:
// no clock and no randomness, so a failing property test replays byte for byte.
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  computeDataHash,
  computeEventHash,
  createMerkleAccumulator,
  formatCheckpointBody,
  formatNote,
  formatVerifierKey,
  KEY_ROTATED_TYPE,
  keyIdOf,
  keyRotationStatementBytes,
  KEYS_STREAM,
  leafHash,
  noteKeyHash,
  sha256,
  toBase64,
  toHex,
  utf8,
  ZERO_HASH,
  type Checkpoint,
  type EventHeader,
  type EventRecord,
  type JsonObject,
  type JsonValue,
  type KeyRotatedData,
  type KeyRotationStatement,
  type MerkleAccumulator,
} from "../../src/core/index.js";

export interface FixtureKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  keyId: string;
  /** Key name in checkpoint notes (C2SP signed-note). */
  noteName: string;
  /** C2SP verifier key string for checkpoint notes. */
  verifierKey: string;
  sign(message: Uint8Array): Uint8Array;
}

/** A fixed, public test seed: never use it for anything but tests and vectors. */
export const FIXTURE_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const FIXTURE_NOTE_NAME = "annal.example/test-log";
export const FIXTURE_ORIGIN = "annal.example/test-log";

export function createFixtureKey(seed: Uint8Array = FIXTURE_SEED, noteName = FIXTURE_NOTE_NAME): FixtureKey {
  const publicKey = ed25519.getPublicKey(seed);
  return {
    seed,
    publicKey,
    keyId: keyIdOf(publicKey),
    noteName,
    verifierKey: formatVerifierKey(noteName, publicKey),
    sign: (message) => ed25519.sign(message, seed),
  };
}

/** What a writer supplies; anything omitted is derived from the position, deterministically. */
export interface EventSpec {
  streamId: string;
  type?: string;
  data?: JsonValue;
  metadata?: JsonObject;
  eventId?: string;
  recordedAt?: string;
  salt?: Uint8Array;
}

/** A UUID-shaped id derived from a label (version nibble 4, RFC 9562 variant). */
export function deterministicUuid(label: string): string {
  const h = toHex(sha256(utf8(`uuid:${label}`)).subarray(0, 16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function deterministicSalt(label: string): Uint8Array {
  return sha256(utf8(`salt:${label}`));
}

const BASE_TIME = Date.UTC(2026, 0, 2, 3, 4, 5);

export interface ChainBuilder {
  /** The key in force: it signs the next event. */
  readonly key: FixtureKey;
  readonly records: EventRecord[];
  readonly tree: MerkleAccumulator;
  append(spec: EventSpec): EventRecord;
  /** A signed checkpoint note over everything appended so far. */
  checkpoint(origin?: string): { checkpoint: Checkpoint; body: string; note: string };
  /**
   * Appends a KeyRotated event to `annal:keys` (signed by the key in force, carrying the
   * next key's signature over the statement) and puts `next` in force after it. `tamper`
   * edits the data after it was signed by the next key (for invalid rotations).
   */
  rotate(next: FixtureKey, tamper?: (data: KeyRotatedData) => JsonValue): EventRecord;
}

export function createChainBuilder(first: FixtureKey = createFixtureKey()): ChainBuilder {
  let key = first;
  const records: EventRecord[] = [];
  const tree = createMerkleAccumulator();
  const streams = new Map<string, { version: number; hash: string }>();
  let prevHash = toBase64(ZERO_HASH);
  return {
    get key() {
      return key;
    },
    records,
    tree,
    rotate(next, tamper) {
      const statement: KeyRotationStatement = {
        origin: FIXTURE_ORIGIN,
        previousKeyId: key.keyId,
        newKeyId: next.keyId,
        newPublicKey: toBase64(next.publicKey),
        newNoteVerifierKey: formatVerifierKey(FIXTURE_ORIGIN, next.publicKey),
        fromPosition: records.length + 2,
      };
      const data: KeyRotatedData = { ...statement, newKeySignature: toBase64(next.sign(keyRotationStatementBytes(statement))) };
      const record = this.append({ streamId: KEYS_STREAM, type: KEY_ROTATED_TYPE, data: tamper ? tamper(data) : { ...data } });
      key = next;
      return record;
    },
    append(spec) {
      const position = records.length + 1;
      const stream = streams.get(spec.streamId);
      const data = spec.data ?? { n: position };
      const salt = spec.salt ?? deterministicSalt(String(position));
      const header: EventHeader = {
        position,
        streamId: spec.streamId,
        streamVersion: (stream?.version ?? 0) + 1,
        eventId: spec.eventId ?? deterministicUuid(String(position)),
        type: spec.type ?? "ThingHappened",
        recordedAt: spec.recordedAt ?? new Date(BASE_TIME + position * 1000).toISOString(),
        metadata: spec.metadata ?? {},
        dataHash: toBase64(computeDataHash(salt, data)),
        prevHash,
        streamPrevHash: stream?.hash ?? toBase64(ZERO_HASH),
        keyId: key.keyId,
      };
      const hash = computeEventHash(header);
      const record: EventRecord = { ...header, data, dataSalt: toBase64(salt), hash: toBase64(hash), signature: toBase64(key.sign(hash)) };
      records.push(record);
      tree.append(leafHash(hash));
      streams.set(spec.streamId, { version: header.streamVersion, hash: record.hash });
      prevHash = record.hash;
      return record;
    },
    checkpoint(origin = FIXTURE_ORIGIN) {
      const last = records[records.length - 1];
      const checkpoint: Checkpoint = { origin, treeSize: tree.size, rootHash: toBase64(tree.root()), ...(last ? { chainHead: last.hash } : {}) };
      const body = formatCheckpointBody(checkpoint);
      return { checkpoint, body, note: signNote(key, body) };
    },
  };
}

/** Signs a note text with the fixture key (one Ed25519 signature line). */
export function signNote(key: FixtureKey, text: string): string {
  return formatNote(text, [{ name: key.noteName, keyHash: noteKeyHash(key.noteName, key.publicKey), signature: key.sign(utf8(text)) }]);
}

/** Builds a whole chain at once. */
export function buildChain(specs: readonly EventSpec[], key?: FixtureKey): EventRecord[] {
  const builder = createChainBuilder(key);
  for (const spec of specs) builder.append(spec);
  return builder.records;
}

/** A deep copy, so tampering in a test never leaks into another case. */
export function cloneRecords(records: readonly EventRecord[]): EventRecord[] {
  return structuredClone(records as EventRecord[]);
}
