import type { EventRecord, JsonObject, JsonValue } from "../core/index.js";
import type { AppendTimeline } from "./append-trace.js";

/** `any`: no check; `no_stream`: the stream must not exist; `stream_exists`; n: the stream's last version must be n. */
export type ExpectedVersion = "any" | "no_stream" | "stream_exists" | number;

export interface AppendEventInput {
  type: string;
  data: JsonValue;
  metadata?: JsonObject;
  /** Client-chosen UUID; generated when absent. */
  eventId?: string;
}

export interface AppendRequest {
  streamId: string;
  events: readonly AppendEventInput[];
  expectedVersion?: ExpectedVersion;
  /** Idempotency-Key header value; scoped to `principal`. */
  idempotencyKey?: string;
  /** Who appends (token subject); `anonymous` when auth is off. */
  principal?: string;
  /** Stage timestamps, when the edge traces appends (ANNAL_TRACE_APPENDS=1); never stored. */
  timeline?: AppendTimeline;
}

export interface ReceiptEvent {
  position: number;
  streamVersion: number;
  eventId: string;
  hash: string;
  keyId: string;
  signature: string;
}

export interface CheckpointView {
  treeSize: number;
  rootHash: string;
  /** The C2SP signed note (tlog-checkpoint body + signature lines). */
  note: string;
}

/** What an append answers: where the events landed and the signed checkpoint covering them. */
export interface Receipt {
  streamId: string;
  streamVersion: number;
  events: ReceiptEvent[];
  checkpoint: CheckpointView;
}

/** What `rotateKey` answers: where the KeyRotated event landed and the new key's window. */
export interface KeyRotation {
  /** Position of the KeyRotated event: the last position the previous key signs. */
  position: number;
  /** The first position the new key signs (position + 1). */
  fromPosition: number;
  previousKeyId: string;
  newKeyId: string;
  receipt: Receipt;
}

export interface PublicKeyInfo {
  keyId: string;
  algorithm: "Ed25519";
  /** Raw 32-byte public key, base64. */
  publicKey: string;
  /** C2SP verifier key (name+hash+base64), for checkpoint notes. */
  noteVerifierKey: string;
  /** When the key was registered / put in force. */
  validFrom: string;
  /** When the key was retired (its rotation committed). */
  validTo?: string;
  /** The first position the key signs; absent for a key never in force. */
  fromPosition?: number;
  /** The last position the key signs (its KeyRotated event); absent while in force. */
  toPosition?: number;
}

/**
 * The one writer of the log.
 *
 * `append` MUST NOT resolve before the events, their idempotency record and the
 * checkpoint covering them are durably committed. Callers MUST NOT assume an event
 * exists until the promise resolves. A rejected append has written nothing.
 */
export interface Ledger {
  append(request: AppendRequest): Promise<Receipt>;
  close(): Promise<void>;
}

/** Reads of the committed log. */
export interface LedgerReader {
  readStream(streamId: string, options: { fromVersion?: number; limit?: number }): Promise<EventRecord[]>;
  readAll(options: { fromPosition?: number; limit?: number }): Promise<EventRecord[]>;
  readEvent(position: number): Promise<EventRecord | undefined>;
  latestCheckpoint(): Promise<CheckpointView | undefined>;
  publicKeys(): Promise<PublicKeyInfo[]>;
}
