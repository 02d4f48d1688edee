import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { Registry } from "prom-client";
import { vi, type Mock } from "vitest";
import type { EventRecord } from "../../../src/core/index.js";
import type { ProofReader } from "../../../src/api/context.js";
import { createApp, type ApiDeps, type ApiOptions } from "../../../src/api/index.js";
import { createAuthOff } from "../../../src/auth/index.js";
import type { CheckpointView, Ledger, LedgerReader, PublicKeyInfo, Receipt } from "../../../src/ledger/types.js";

export const HASH = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M=";
export const SIGNATURE = "c2lnbmF0dXJl";
export const CHECKPOINT: CheckpointView = { treeSize: 3, rootHash: HASH, note: "annal.test/log\n3\nq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M=\n\n— annal.test/log AAAA\n" };
export const KEY: PublicKeyInfo = { keyId: "0011223344556677", algorithm: "Ed25519", publicKey: HASH, noteVerifierKey: "annal.test/log+00112233+AQ==", validFrom: "2025-01-01T00:00:00.000Z" };

export function record(position: number, streamId = "orders-1", streamVersion = position): EventRecord {
  return {
    position,
    streamId,
    streamVersion,
    eventId: `00000000-0000-4000-8000-${String(position).padStart(12, "0")}`,
    type: "OrderPlaced",
    recordedAt: "2025-01-01T00:00:00.000Z",
    metadata: {},
    data: { n: position },
    dataSalt: HASH,
    dataHash: HASH,
    prevHash: HASH,
    streamPrevHash: HASH,
    keyId: KEY.keyId,
    hash: HASH,
    signature: SIGNATURE,
  };
}

/** A ledger for bad-input tests: reaching it at all is the failure. */
export function unreachableLedger(): { append: Mock<Ledger["append"]>; close: Mock<Ledger["close"]> } {
  return {
    append: vi.fn(() => Promise.reject(new Error("must not be reached"))),
    close: vi.fn(() => Promise.reject(new Error("must not be reached"))),
  };
}

export function unreachableReader(): { [K in keyof LedgerReader]: Mock<LedgerReader[K]> } {
  const never = (): Promise<never> => Promise.reject(new Error("must not be reached"));
  return { readStream: vi.fn(never), readAll: vi.fn(never), readEvent: vi.fn(never), latestCheckpoint: vi.fn(never), publicKeys: vi.fn(never) };
}

export function unreachableProofs(): { [K in keyof ProofReader]-?: Mock<NonNullable<ProofReader[K]>> } {
  const never = (): Promise<never> => Promise.reject(new Error("must not be reached"));
  return { inclusionProof: vi.fn(never), consistencyProof: vi.fn(never), checkpointAt: vi.fn(never), listCheckpoints: vi.fn(never), eventHash: vi.fn(never), latestInclusionProof: vi.fn(never) };
}

/** An in-memory reader over `records` (all streams, in position order). */
/** `checkpoint: null` models a ledger that has not signed one yet. */
export function memoryReader(records: EventRecord[], checkpoint: CheckpointView | null = CHECKPOINT): LedgerReader {
  return {
    readStream: (streamId, { fromVersion = 1, limit = 100 }) =>
      Promise.resolve(records.filter((r) => r.streamId === streamId && r.streamVersion >= fromVersion).slice(0, limit)),
    readAll: ({ fromPosition = 1, limit = 100 }) => Promise.resolve(records.filter((r) => r.position >= fromPosition).slice(0, limit)),
    readEvent: (position) => Promise.resolve(records.find((r) => r.position === position)),
    latestCheckpoint: () => Promise.resolve(checkpoint ?? undefined),
    publicKeys: () => Promise.resolve([KEY]),
  };
}

export function receiptFor(streamId: string, count: number, firstPosition = 1): Receipt {
  return {
    streamId,
    streamVersion: count,
    events: Array.from({ length: count }, (_, i) => ({
      position: firstPosition + i,
      streamVersion: i + 1,
      eventId: record(firstPosition + i).eventId,
      hash: HASH,
      keyId: KEY.keyId,
      signature: SIGNATURE,
    })),
    checkpoint: CHECKPOINT,
  };
}

/** Log lines the app wrote, parsed, so tests can assert what was logged with which request id. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export function makeApp(overrides: Partial<ApiDeps> = {}, options: ApiOptions = {}) {
  const deps: ApiDeps = {
    ledger: unreachableLedger(),
    reader: unreachableReader(),
    proofs: unreachableProofs(),
    ready: () => Promise.resolve(true),
    logger: pino({ level: "silent" }),
    metrics: new Registry(),
    // Not about auth: these tests run with authentication explicitly off.
    access: createAuthOff(),
    ...overrides,
  };
  return { app: createApp(deps, options), deps };
}

export const JSON_HEADERS = { "Content-Type": "application/json" } as const;

export function appendBody(events: unknown[] = [{ type: "OrderPlaced", data: { total: 1 } }], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ events, ...extra });
}
