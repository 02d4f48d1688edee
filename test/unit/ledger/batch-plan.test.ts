import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createChainVerifier, sha256, utf8, verifyEd25519, ZERO_HASH, type EventRecord } from "../../../src/core/index.js";
import { createKeySigner } from "../../../src/keys/index.js";
import { idempotencyMapKey, planBatch, prepareEvents, type ChainState, type QueuedAppend, type StreamState } from "../../../src/ledger/batch-plan.js";
import type { AppendRequest } from "../../../src/ledger/types.js";
import { requestFingerprint } from "../../../src/ledger/validate.js";

// Given/When/Then for the sequencer's decisions, on the pure planning step: no database.
const signer = createKeySigner(generateKeyPairSync("ed25519").privateKey, { noteName: "test/log" });
let uuid = 0;
const deps = {
  signer,
  origin: "test/log",
  recordedAt: "2026-11-24T00:00:00.000Z",
  hash: sha256,
};
const GENESIS: ChainState = { position: 0, hash: ZERO_HASH, frontier: { size: 0, hashes: [] } };

function queued(request: AppendRequest, principal = "alice"): QueuedAppend {
  const prepared = prepareEvents(request, {
    randomBytes: (n) => new Uint8Array(n).fill(7),
    randomUUID: () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, "0")}`,
    hash: sha256,
  });
  // As the ledger does: only a keyed request carries a fingerprint.
  return { request, principal, ...(request.idempotencyKey ? { fingerprint: sha256(utf8(requestFingerprint(request))) } : {}), prepared };
}

const plan = (items: QueuedAppend[], streams = new Map<string, StreamState>(), hits = new Map(), ids = new Set<string>(), start = GENESIS) =>
  planBatch(deps, start, streams, items, hits, ids);

describe("planning a batch", () => {
  it("given appends to two streams, when planned, then positions, versions and both chains link and verify", async () => {
    const p = await plan([
      queued({ streamId: "a", events: [{ type: "X", data: 1 }, { type: "X", data: 2 }] }),
      queued({ streamId: "b", events: [{ type: "Y", data: { k: "v" } }] }),
      queued({ streamId: "a", events: [{ type: "X", data: 3 }] }),
    ]);
    expect(p.events.map((e) => [e.header.position, e.header.streamId, e.header.streamVersion])).toEqual([
      [1, "a", 1],
      [2, "a", 2],
      [3, "b", 1],
      [4, "a", 3],
    ]);
    const verifier = createChainVerifier({ publicKeys: new Map([[signer.keyId, signer.publicKey]]), verifySignature: verifyEd25519 });
    for (const e of p.events) {
      const record: EventRecord = { ...e.header, data: JSON.parse(e.dataJson) as number, dataSalt: Buffer.from(e.salt).toString("base64"), hash: Buffer.from(e.hash).toString("base64"), signature: Buffer.from(e.signature).toString("base64") };
      expect(verifier.push(record)).toEqual({ ok: true });
    }
    expect(verifier.checkCheckpoint(p.checkpoint!.note, { name: "test/log", publicKey: signer.publicKey })).toEqual({ ok: true });
    expect(p.head.position).toBe(4);
    expect(p.streams.get("a")?.version).toBe(3);
  });

  it("given expectedVersion rules, when the stream is at version 2, then exactly the matching ones are accepted", async () => {
    const streams = new Map([["s", { version: 2, lastHash: new Uint8Array(32).fill(1) }]]);
    const p = await plan(
      [
        queued({ streamId: "s", expectedVersion: 2, events: [{ type: "A", data: 0 }] }),
        queued({ streamId: "s", expectedVersion: 2, events: [{ type: "A", data: 1 }] }),
        queued({ streamId: "s", expectedVersion: "no_stream", events: [{ type: "A", data: 2 }] }),
        queued({ streamId: "s", expectedVersion: "stream_exists", events: [{ type: "A", data: 3 }] }),
        queued({ streamId: "new", expectedVersion: "stream_exists", events: [{ type: "A", data: 4 }] }),
        queued({ streamId: "new", expectedVersion: "no_stream", events: [{ type: "A", data: 5 }] }),
      ],
      streams,
      new Map(),
      new Set(),
      { position: 10, hash: new Uint8Array(32).fill(9), frontier: { size: 10, hashes: [new Uint8Array(32).fill(3), new Uint8Array(32).fill(4)] } },
    );
    const decisions = p.outcomes.map((o) => (o.ok ? "ok" : `${o.error.code}:${String(o.error.details?.actualVersion)}`));
    expect(decisions).toEqual(["ok", "ERR_EXPECTED_VERSION:3", "ERR_EXPECTED_VERSION:3", "ok", "ERR_EXPECTED_VERSION:0", "ok"]);
    expect(p.events[0]!.header.streamPrevHash).toBe(Buffer.from(new Uint8Array(32).fill(1)).toString("base64"));
    expect(p.events.map((e) => e.header.position)).toEqual([11, 12, 13]);
  });

  it("given a stored idempotency record, then the same request replays its receipt and another request is refused", async () => {
    const original = queued({ streamId: "i", idempotencyKey: "k", events: [{ type: "Paid", data: 5 }] });
    const first = await plan([original]);
    const receipt = first.idempotency[0]!.receipt;
    const hits = new Map([[idempotencyMapKey("alice", "k"), { fingerprint: original.fingerprint!, receipt }]]);
    const p = await plan([queued({ streamId: "i", idempotencyKey: "k", events: [{ type: "Paid", data: 5 }] }), queued({ streamId: "i", idempotencyKey: "k", events: [{ type: "Paid", data: 6 }] }), queued({ streamId: "i", idempotencyKey: "k", events: [{ type: "Paid", data: 5 }] }, "bob")], new Map(), hits);
    expect(p.outcomes[0]).toMatchObject({ ok: true, replayed: true, receipt: JSON.parse(receipt) as object });
    expect(p.outcomes[1]).toMatchObject({ ok: false, error: { code: "ERR_IDEMPOTENCY_KEY_REUSED" } });
    // Another principal's key is its own: bob appends.
    expect(p.outcomes[2]).toMatchObject({ ok: true, replayed: false });
    expect(p.events).toHaveLength(1);
  });

  it("given an event id already stored or repeated in the batch, then that append is refused and the others go on", async () => {
    const id = "11111111-1111-4111-8111-111111111111";
    const other = "22222222-2222-4222-8222-222222222222";
    const p = await plan(
      [
        queued({ streamId: "d", events: [{ type: "A", data: 1, eventId: id }] }),
        queued({ streamId: "d", events: [{ type: "A", data: 2, eventId: other }] }),
        queued({ streamId: "d", events: [{ type: "A", data: 3, eventId: other }] }),
      ],
      new Map(),
      new Map(),
      new Set([id]),
    );
    expect(p.outcomes.map((o) => (o.ok ? "ok" : o.error.code))).toEqual(["ERR_DUPLICATE_EVENT", "ok", "ERR_DUPLICATE_EVENT"]);
    expect(p.events.map((e) => e.header.eventId)).toEqual([other]);
  });

  it("given nothing accepted, then nothing is written and no checkpoint is signed", async () => {
    const streams = new Map([["s", { version: 1, lastHash: new Uint8Array(32) }]]);
    const p = await plan([queued({ streamId: "s", expectedVersion: "no_stream", events: [{ type: "A", data: 0 }] })], streams);
    expect(p.events).toEqual([]);
    expect(p.checkpoint).toBeUndefined();
    expect(p.head).toBe(GENESIS);
  });
});
