import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { consistencyProofOf, decodeHash, leafHash, toBase64 } from "../../../src/core/index.js";
import { parseCosignerVerifierKey, verifyCosignature, formatCosignerVerifierKey } from "../../../src/verify/index.js";
import { createWitnessApp } from "../../../src/witness/app.js";
import { formatAddCheckpointBody, TLOG_SIZE_CONTENT_TYPE } from "../../../src/witness/protocol.js";
import { openFileWitnessState, type WitnessState } from "../../../src/witness/state.js";
import { createChainBuilder, createFixtureKey, FIXTURE_ORIGIN, type ChainBuilder } from "../../support/chain-fixture.js";

const WITNESS_SEED = new Uint8Array(32).fill(42);
const cosigner = { name: "witness.example/w1", publicKey: ed25519.getPublicKey(WITNESS_SEED), sign: (m: Uint8Array) => ed25519.sign(m, WITNESS_SEED) };
const NOW = 1_767_225_600;

/** A log and its checkpoints at chosen sizes, built from the fixture chain (same key, same origin). */
function log(size: number, streamPrefix = "s"): { builder: ChainBuilder; at: (n: number) => { note: string; root: string }; proof: (from: number, to: number) => string[] } {
  const builder = createChainBuilder();
  const notes = new Map<number, { note: string; root: string }>();
  for (let i = 1; i <= size; i++) {
    builder.append({ streamId: `${streamPrefix}-${i % 3}` });
    const cp = builder.checkpoint();
    notes.set(i, { note: cp.note, root: cp.checkpoint.rootHash });
  }
  const leaves = () => builder.records.map((r) => leafHash(decodeHash(r.hash)!));
  return { builder, at: (n) => notes.get(n)!, proof: (from, to) => (from === 0 ? [] : consistencyProofOf(leaves(), from, to).map(toBase64)) };
}

describe("annal witness (C2SP tlog-witness)", () => {
  let dir: string;
  let state: WitnessState;
  let app: ReturnType<typeof createWitnessApp>;
  const main = log(12);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "annal-witness-"));
    state = await openFileWitnessState(dir);
    app = createWitnessApp({ state, cosigner, logs: [{ origin: FIXTURE_ORIGIN, verifierKeys: [main.builder.key.verifierKey] }], now: () => NOW });
  });
  afterEach(async () => {
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  const submit = (oldSize: number, proof: string[], note: string) => app.request("/add-checkpoint", { method: "POST", body: formatAddCheckpointBody(oldSize, proof, note) });

  async function cosigned(size: number, from = 0) {
    const response = await submit(from, main.proof(from, size), main.at(size).note);
    expect(response.status, await response.clone().text()).toBe(200);
    return response.text();
  }

  it("cosigns a first checkpoint and a valid extension; the cosignature verifies", async () => {
    await cosigned(5);
    const line = await cosigned(9, 5);
    expect(line).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    const note = main.at(9).note + line;
    const vkey = formatCosignerVerifierKey(cosigner.name, cosigner.publicKey);
    expect(verifyCosignature(note, parseCosignerVerifierKey(vkey)!)).toEqual({ ok: true, timestamp: NOW });
    // The cosignature is over the checkpoint as of its body: another body fails.
    expect(verifyCosignature(main.at(8).note + line, parseCosignerVerifierKey(vkey)!).ok).toBe(false);
    const saved = JSON.parse(await readFile(join(dir, (await import("node:fs")).readdirSync(dir).find((f) => f.startsWith("log-"))!), "utf8"));
    expect(saved).toMatchObject({ origin: FIXTURE_ORIGIN, treeSize: 9, rootHash: main.at(9).root });
  });

  it("re-cosigns the same checkpoint (old size = size, same root)", async () => {
    await cosigned(5);
    expect((await submit(5, [], main.at(5).note)).status).toBe(200);
  });

  it("answers 409 with the current size (text/x.tlog.size) when the old size is stale, so a client can learn it", async () => {
    await cosigned(7);
    const response = await submit(0, [], main.at(9).note);
    expect(response.status).toBe(409);
    expect(response.headers.get("Content-Type")).toBe(TLOG_SIZE_CONTENT_TYPE);
    expect(await response.text()).toBe("7\n");
  });

  it("refuses a rollback: a smaller tree than the one cosigned", async () => {
    await cosigned(9);
    expect((await submit(9, [], main.at(5).note)).status).toBe(400); // old > size
    const stale = await submit(5, [], main.at(5).note);
    expect(stale.status).toBe(409);
    expect(await stale.text()).toBe("9\n");
    expect((await state.get(FIXTURE_ORIGIN))?.treeSize).toBe(9);
  });

  it("refuses a fork: same size, another root (409), or an extension of another history (422)", async () => {
    await cosigned(6);
    const other = log(12, "fork"); // same key and origin, different events
    expect((await submit(6, [], other.at(6).note)).status).toBe(409);
    expect((await submit(6, other.proof(6, 10), other.at(10).note)).status).toBe(422);
    expect((await state.get(FIXTURE_ORIGIN))?.rootHash).toBe(main.at(6).root);
  });

  it("refuses a bad proof with 422 and keeps its state", async () => {
    await cosigned(5);
    const proof = main.proof(5, 11);
    const flipped = [...proof];
    flipped[0] = toBase64(new Uint8Array(32).fill(1));
    for (const bad of [flipped, proof.slice(1), [...proof, proof[0]!], proof.slice().reverse(), []]) {
      expect((await submit(5, bad, main.at(11).note)).status).toBe(422);
    }
    expect((await submit(0, [proof[0]!], main.at(11).note)).status).toBe(409);
    expect((await state.get(FIXTURE_ORIGIN))?.treeSize).toBe(5);
  });

  it("lets exactly one of two concurrent requests from the same old size win", async () => {
    await cosigned(4);
    for (let round = 0; round < 5; round++) {
      const from = (await state.get(FIXTURE_ORIGIN))!.treeSize;
      const [a, b] = await Promise.all([submit(from, main.proof(from, from + 1), main.at(from + 1).note), submit(from, main.proof(from, from + 2), main.at(from + 2).note)]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([200, 409]);
      const winner = a.status === 200 ? from + 1 : from + 2;
      expect((await state.get(FIXTURE_ORIGIN))?.treeSize).toBe(winner);
      const loser = a.status === 409 ? a : b;
      expect(await loser.text()).toBe(`${winner}\n`);
      if (winner >= 10) break;
    }
  });

  it("answers 404 for an unknown log, 403 for a checkpoint not signed by the log's key, 400 for a malformed body", async () => {
    const stranger = createChainBuilder(createFixtureKey(new Uint8Array(32).fill(5), "other.example/log"));
    stranger.append({ streamId: "x" });
    expect((await submit(0, [], stranger.checkpoint("other.example/log").note)).status).toBe(404);
    const impostor = createChainBuilder(createFixtureKey(new Uint8Array(32).fill(5)));
    impostor.append({ streamId: "x" });
    expect((await submit(0, [], impostor.checkpoint().note)).status).toBe(403);
    for (const body of ["", "old 01\n\n" + main.at(1).note, "old 1\nnot-base64\n\n" + main.at(2).note, "old 0\n" + main.at(1).note, `old 0\n${"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)}\n${main.at(1).note}`]) {
      expect((await app.request("/add-checkpoint", { method: "POST", body })).status).toBe(400);
    }
    expect((await state.get(FIXTURE_ORIGIN))).toBeUndefined();
  });

  it("follows a key rotation when its operator adds the log's new key beside the old one (the overlap)", async () => {
    const next = createFixtureKey(new Uint8Array(32).fill(7));
    const rotating = createChainBuilder();
    rotating.append({ streamId: "a" });
    rotating.rotate(next);
    rotating.append({ streamId: "a" });
    const signedByNewKeyOnly = rotating.checkpoint().note;
    const witness = (verifierKeys: string[]) => createWitnessApp({ state, cosigner, logs: [{ origin: FIXTURE_ORIGIN, verifierKeys }], now: () => NOW });
    const post = (w: ReturnType<typeof witness>) => w.request("/add-checkpoint", { method: "POST", body: formatAddCheckpointBody(0, [], signedByNewKeyOnly) });
    // Pinning only the old key, a checkpoint after the overlap (new key alone) is refused ...
    expect((await post(witness([main.builder.key.verifierKey]))).status).toBe(403);
    // ... and accepted once the operator has given the witness the new key as well.
    expect((await post(witness([main.builder.key.verifierKey, next.verifierKey]))).status).toBe(200);
  });

  it("refuses to share its state directory with a running witness", async () => {
    await expect(openFileWitnessState(dir)).rejects.toThrow(/locked/);
  });
});
