import { sha256, utf8, type EventRecord } from "../core/index.js";

// The wire format of the Annal topic: pure (no Node modules), shared by the relay, the
// consumer helper and any reader in a browser. docs/kafka.md is its specification.

export const HEADER = {
  specVersion: "ce_specversion",
  id: "ce_id",
  source: "ce_source",
  type: "ce_type",
  subject: "ce_subject",
  time: "ce_time",
  sequence: "ce_sequence",
  contentType: "content-type",
  /** Base64 SHA-256 event hash, as in the record. */
  hash: "annal_hash",
  /** Position of the previous event record in the same partition ("0": none). */
  partitionPrev: "annal_partition_prev",
  /** `event` or `checkpoint`. */
  record: "annal_record",
} as const;

export const CONTROL_KEY = "annal:control";
export const CONTROL_TYPE = "annal.checkpoint";
export const RECORD_CONTENT_TYPE = "application/json";

/** ce_sequence: the position zero-padded to 20 digits, so it orders as a string too. */
export function sequenceOf(position: number): string {
  return String(position).padStart(20, "0");
}

export function ceIdOf(origin: string, position: number): string {
  return `${origin}/${position}`;
}

/**
 * The partition of a stream: the first four bytes of SHA-256(UTF-8 stream id), big-endian,
 * modulo the partition count. Anyone can recompute it, so a record in the wrong partition
 * is visible as such.
 */
export function partitionFor(streamId: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new RangeError("partitions must be a positive integer");
  const digest = sha256(utf8(streamId));
  const n = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
  return n % partitions;
}

/** The record value: byte for byte what `GET /events/{position}` serves (JSON.stringify of the API representation). */
export function eventValue(record: EventRecord): string {
  return JSON.stringify(record);
}

export function eventHeaders(record: EventRecord, origin: string, partitionPrev: number): Record<string, string> {
  return {
    [HEADER.specVersion]: "1.0",
    [HEADER.id]: ceIdOf(origin, record.position),
    [HEADER.source]: origin,
    [HEADER.type]: record.type,
    [HEADER.subject]: record.streamId,
    [HEADER.time]: record.recordedAt,
    [HEADER.sequence]: sequenceOf(record.position),
    [HEADER.contentType]: RECORD_CONTENT_TYPE,
    [HEADER.hash]: record.hash,
    [HEADER.partitionPrev]: String(partitionPrev),
    [HEADER.record]: "event",
  };
}

/** What a control record carries: a signed checkpoint and where this partition stands at its size. */
export interface ControlValue {
  kind: "checkpoint";
  partition: number;
  partitions: number;
  /** The last event position in this partition that the checkpoint covers (0: none). */
  lastPosition: number;
  /** The checkpoint: the C2SP note carries the log's signature and the witnesses' cosignatures. */
  checkpoint: { treeSize: number; rootHash: string; note: string };
}

export function controlHeaders(origin: string, value: ControlValue, time: string): Record<string, string> {
  return {
    [HEADER.specVersion]: "1.0",
    [HEADER.id]: `${origin}/checkpoint/${value.checkpoint.treeSize}/${value.partition}`,
    [HEADER.source]: origin,
    [HEADER.type]: CONTROL_TYPE,
    [HEADER.time]: time,
    [HEADER.sequence]: sequenceOf(value.checkpoint.treeSize),
    [HEADER.contentType]: RECORD_CONTENT_TYPE,
    [HEADER.record]: "checkpoint",
  };
}
