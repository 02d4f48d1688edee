import { canonicalJson, type JsonValue } from "./canonical-json.js";
import { LedgerError } from "./errors.js";
import { fromBase64, toBase64, toHex, utf8 } from "./bytes.js";
import { DOMAIN_DATA, DOMAIN_EVENT, sha256 } from "./hash.js";

export type JsonObject = { [key: string]: JsonValue };

/**
 * The signed header of an event: everything that is hashed, in the form that is hashed.
 * Hashes are standard base64 (with padding) strings of 32 bytes; positions and versions
 * start at 1 and are safe integers.
 */
export interface EventHeader {
  position: number;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  recordedAt: string;
  metadata: JsonObject;
  dataHash: string;
  prevHash: string;
  streamPrevHash: string;
  keyId: string;
}

/**
 * The exact canonical texts a store kept, so a verifier can hash them as stored instead
 * of parsing and re-serialising (`data` absent when redacted). Never part of the API.
 */
export interface StoredCanonical {
  data?: string;
  metadata: string;
}

/**
 * A committed event as stored and served. `data` and `dataSalt` are both present, or
 * both absent once the payload is redacted; `dataHash` (and so the chain) survives
 * redaction. There is no redaction flag: an unhashed flag is one more thing a verifier
 * would have to distrust (docs/verification.md section 3).
 */
export interface EventRecord extends EventHeader {
  data?: JsonValue;
  dataSalt?: string;
  hash: string;
  signature: string;
}

/** Format version of the header; part of the hashed bytes. */
export const EVENT_FORMAT_VERSION = 1;

/**
 * dataHash = SHA-256("annal/data/v1" || 0x00 || salt || UTF-8(JCS(data))).
 * The 32-byte random salt makes a redacted payload impossible to confirm by guessing.
 */
export function computeDataHash(salt: Uint8Array, data: JsonValue): Uint8Array {
  return sha256(...dataHashInput(salt, canonicalJson(data)));
}

/**
 * The byte strings dataHash covers, in order, given the data's canonical JSON. An
 * adapter with a native SHA-256 hashes exactly these (the core defines the bytes, the
 * adapter picks the implementation).
 */
export function dataHashInput(salt: Uint8Array, canonicalData: string): Uint8Array[] {
  return [DOMAIN_DATA, salt, utf8(canonicalData)];
}

/** The byte strings the event hash covers, in order (see dataHashInput). */
export function eventHashInput(header: EventHeader, canonicalMetadata?: string): Uint8Array[] {
  return [DOMAIN_EVENT, utf8(eventHeaderJson(header, canonicalMetadata))];
}

/**
 * The canonical header bytes (RFC 8785) that the event hash covers: the JCS form of
 * { v, position, streamId, streamVersion, eventId, type, recordedAt, metadata, dataHash,
 * prevHash, streamPrevHash, keyId }. Written out with the members already in JCS order
 * (UTF-16 code units) rather than through the generic serialiser: this runs for every
 * event appended and verified. The golden vectors pin it to the generic form.
 * `canonicalMetadata`, when given, is the metadata's JCS text as stored (a verifier that
 * has the stored bytes hashes them as they are: other bytes fail the comparison).
 */
export function eventHeaderJson(header: EventHeader, canonicalMetadata?: string): string {
  if (!Number.isSafeInteger(header.position) || !Number.isSafeInteger(header.streamVersion)) {
    throw new LedgerError("ERR_INVALID_INPUT", "position and streamVersion must be safe integers");
  }
  return (
    `{"dataHash":${str(header.dataHash)},"eventId":${str(header.eventId)},"keyId":${str(header.keyId)},` +
    `"metadata":${canonicalMetadata ?? canonicalJson(header.metadata)},"position":${header.position},"prevHash":${str(header.prevHash)},` +
    `"recordedAt":${str(header.recordedAt)},"streamId":${str(header.streamId)},"streamPrevHash":${str(header.streamPrevHash)},` +
    `"streamVersion":${header.streamVersion},"type":${str(header.type)},"v":${EVENT_FORMAT_VERSION}}`
  );
}

/** A JCS string (ECMAScript JSON.stringify), refusing lone surrogates as canonicalJson does. */
function str(value: string): string {
  if (typeof value !== "string" || !value.isWellFormed()) throw new LedgerError("ERR_INVALID_INPUT", "header strings must be well-formed Unicode");
  return JSON.stringify(value);
}

/** hash = SHA-256("annal/event/v1" || 0x00 || UTF-8(JCS(header))). Signed as is (32 bytes). */
export function computeEventHash(header: EventHeader): Uint8Array {
  return sha256(...eventHashInput(header));
}

/** Key id of an Ed25519 public key: the first 8 bytes of SHA-256(raw key), lowercase hex. */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return toHex(sha256(rawPublicKey).subarray(0, 8));
}

/** Copies the hashed fields of a record, dropping data, salt, hash and signature. */
export function headerOf(record: EventRecord): EventHeader {
  return {
    position: record.position,
    streamId: record.streamId,
    streamVersion: record.streamVersion,
    eventId: record.eventId,
    type: record.type,
    recordedAt: record.recordedAt,
    metadata: record.metadata,
    dataHash: record.dataHash,
    prevHash: record.prevHash,
    streamPrevHash: record.streamPrevHash,
    keyId: record.keyId,
  };
}

export function decodeHash(value: string): Uint8Array | undefined {
  const bytes = fromBase64(value);
  return bytes?.length === 32 ? bytes : undefined;
}

export { toBase64 };
