import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckpointView, PublicKeyInfo } from "../../src/ledger/types.js";
import { parseTrustedKey, verifyCheckpointNote, verifyConsistency, verifyInclusion, verifyReceipt, type EventReceipt, type TrustedKey } from "../../src/verify/index.js";
import type { EventRecord } from "../../src/core/index.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// Proofs and receipts served by a real ledger on real PostgreSQL, checked only with the
// pure verification library and the ledger's published key.

let t: TestHttpAnnal;
let key: TrustedKey;
let verifierKey: string;
const checkpointSizes: number[] = [];

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${t.url}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}

beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
  const stream = randomName("proofs");
  // Several batches of different sizes: a checkpoint per batch.
  for (const count of [1, 2, 5, 1, 3, 8, 1]) {
    const response = await fetch(`${t.url}/streams/${stream}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events: Array.from({ length: count }, (_, i) => ({ type: "ThingHappened", data: { i, text: "naïve ✓" } })) }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    checkpointSizes.push(((await response.json()) as { checkpoint: CheckpointView }).checkpoint.treeSize);
  }
  const keys = (await get<{ keys: PublicKeyInfo[] }>("/keys")).body.keys;
  verifierKey = keys[0]!.noteVerifierKey;
  key = parseTrustedKey(verifierKey) as TrustedKey;
});
afterAll(async () => {
  await t?.close();
});

describe("proofs over HTTP verify with annal/verify", () => {
  it("serves every checkpoint by size, signed by the published key", async () => {
    for (const size of checkpointSizes) {
      const { status, body } = await get<CheckpointView>(`/checkpoints?treeSize=${size}`);
      expect(status).toBe(200);
      const verdict = verifyCheckpointNote(body.note, key);
      expect(verdict.ok && verdict.checkpoint.treeSize).toBe(size);
      expect(verdict.ok && verdict.checkpoint.rootHash).toBe(body.rootHash);
    }
    expect((await get(`/checkpoints?treeSize=${checkpointSizes[1]! - 1}`)).status).toBe(404);
    expect((await get(`/checkpoints?treeSize=${checkpointSizes.at(-1)! + 1}`)).status).toBe(404);
  });

  it("lists every checkpoint in pages, in order, each signed (section 11)", async () => {
    const seen: CheckpointView[] = [];
    let from = 1;
    for (let pages = 0; pages < 10; pages++) {
      const { status, body } = await get<{ checkpoints: CheckpointView[]; nextTreeSize: number }>(`/checkpoints?fromTreeSize=${from}&limit=3`);
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual(["checkpoints", "nextTreeSize"]);
      seen.push(...body.checkpoints);
      from = body.nextTreeSize;
      if (body.checkpoints.length < 3) break;
    }
    expect(seen.map((c) => c.treeSize)).toEqual(checkpointSizes);
    for (const cp of seen) {
      expect(Object.keys(cp).sort()).toEqual(["note", "rootHash", "treeSize"]);
      const verdict = verifyCheckpointNote(cp.note, key);
      expect(verdict.ok && [verdict.checkpoint.treeSize, verdict.checkpoint.rootHash]).toEqual([cp.treeSize, cp.rootHash]);
    }
    expect(from).toBe(checkpointSizes.at(-1)! + 1);
    expect((await get<{ checkpoints: CheckpointView[] }>("/checkpoints")).body.checkpoints.map((c) => c.treeSize)).toEqual(checkpointSizes);
    const middle = await get<{ checkpoints: CheckpointView[]; nextTreeSize: number }>(`/checkpoints?fromTreeSize=${checkpointSizes[2]! - 1}&limit=2`);
    expect(middle.body.checkpoints.map((c) => c.treeSize)).toEqual(checkpointSizes.slice(2, 4));
    expect((await get(`/checkpoints?treeSize=${checkpointSizes[0]}&limit=2`)).status).toBe(400);
    expect((await get("/checkpoints?limit=1001")).status).toBe(400);
    expect((await get("/checkpoints?fromTreeSize=0")).status).toBe(400);
  });

  it("inclusion proofs of every event into every checkpoint that covers it verify", async () => {
    const events = (await get<{ events: EventRecord[] }>("/events?limit=100")).body.events;
    for (const size of checkpointSizes) {
      const root = (await get<CheckpointView>(`/checkpoints?treeSize=${size}`)).body.rootHash;
      for (const event of events.filter((e) => e.position <= size)) {
        const { status, body } = await get<{ leafIndex: number; treeSize: number; rootHash: string; auditPath: string[] }>(`/proofs/inclusion?position=${event.position}&treeSize=${size}`);
        expect(status).toBe(200);
        expect(body).toMatchObject({ leafIndex: event.position - 1, treeSize: size, rootHash: root });
        expect(verifyInclusion({ eventHash: event.hash, leafIndex: body.leafIndex, treeSize: size, auditPath: body.auditPath, rootHash: root })).toEqual({ ok: true });
      }
    }
    // Without treeSize: against the latest checkpoint (read with the proof).
    const latestSize = checkpointSizes.at(-1)!;
    const latestRoot = (await get<CheckpointView>(`/checkpoints?treeSize=${latestSize}`)).body.rootHash;
    for (const event of events) {
      const { status, body } = await get<{ leafIndex: number; treeSize: number; rootHash: string; auditPath: string[] }>(`/proofs/inclusion?position=${event.position}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ leafIndex: event.position - 1, treeSize: latestSize, rootHash: latestRoot });
      expect(verifyInclusion({ eventHash: event.hash, leafIndex: body.leafIndex, treeSize: latestSize, auditPath: body.auditPath, rootHash: latestRoot })).toEqual({ ok: true });
    }
    const beyond = await get<{ code: string; treeSize: number }>(`/proofs/inclusion?position=${latestSize + 1}`);
    expect(beyond).toMatchObject({ status: 400, body: { code: "ERR_INVALID_INPUT", treeSize: latestSize } });
    expect((await get(`/proofs/inclusion?position=${checkpointSizes[2]! + 1}&treeSize=${checkpointSizes[2]}`)).status).toBe(400);
    expect((await get("/proofs/inclusion?position=1&treeSize=2")).status).toBe(404); // 2 is not a checkpointed size
    expect((await get("/proofs/inclusion")).status).toBe(400);
  });

  it("consistency proofs between every pair of checkpoints verify", async () => {
    const roots = new Map<number, string>();
    for (const size of checkpointSizes) roots.set(size, (await get<CheckpointView>(`/checkpoints?treeSize=${size}`)).body.rootHash);
    for (const from of checkpointSizes) {
      for (const to of checkpointSizes.filter((s) => s >= from)) {
        const { status, body } = await get<{ from: number; to: number; path: string[] }>(`/proofs/consistency?from=${from}&to=${to}`);
        expect(status).toBe(200);
        expect(verifyConsistency({ from, to, fromRoot: roots.get(from)!, toRoot: roots.get(to)!, path: body.path })).toEqual({ ok: true });
      }
    }
    // The statuses section 11 states: from > to 400, from = 0 400, a to that no checkpoint has 404.
    expect((await get(`/proofs/consistency?from=${checkpointSizes[3]}&to=${checkpointSizes[2]}`)).status).toBe(400);
    expect((await get(`/proofs/consistency?from=0&to=${checkpointSizes[2]}`)).status).toBe(400);
    expect((await get(`/proofs/consistency?from=1&to=${checkpointSizes[1]! + 1}`)).status).toBe(404);
    expect((await get("/proofs/consistency")).status).toBe(400);
  });

  it("serves receipts that verify offline with the verifier key alone", async () => {
    const size = checkpointSizes.at(-1)!;
    for (let position = 1; position <= size; position++) {
      const { status, body } = await get<EventReceipt>(`/events/${position}/receipt`);
      expect(status).toBe(200);
      expect(verifyReceipt(JSON.parse(JSON.stringify(body)), { verifierKey })).toEqual({ ok: true });
      expect(body.publicKey).toBe(verifierKey);
    }
    expect((await get(`/events/${size + 1}/receipt`)).status).toBe(404);
  });
});
