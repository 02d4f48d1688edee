import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBase64, leafHash } from "../../src/core/index.js";
import { consistencyProofOf, inclusionProofOf, verifyConsistencyProof, verifyInclusionProof } from "../../src/core/merkle-proof.js";
import { createPostgresProofs, type PostgresProofs } from "../../src/store/postgres/proofs.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";

let t: TestAnnal;
let proofs: PostgresProofs;
let leaves: Uint8Array[];
let sizes: number[];

beforeAll(async () => {
  t = await startTestAnnal();
  // Batches of uneven sizes, so checkpoints land on sizes of every shape.
  let n = 0;
  for (const size of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 77, 16, 1, 300]) {
    await t.ledger.append({ streamId: `p-${n++ % 4}`, events: Array.from({ length: size }, (_, i) => ({ type: "Counted", data: { i } })) });
  }
  const records = await t.reader.readAll({ fromPosition: 1, limit: 1000 });
  const more = await t.reader.readAll({ fromPosition: 1001, limit: 1000 });
  leaves = [...records, ...more].map((r) => leafHash(fromBase64(r.hash)!));
  proofs = createPostgresProofs(t.pool);
  const { rows } = await t.pool.query<{ tree_size: number }>("SELECT tree_size FROM annal.checkpoints ORDER BY tree_size");
  sizes = rows.map((r) => r.tree_size);
});
afterAll(async () => {
  await t?.close();
});

describe("proofs from stored subtree hashes", () => {
  it("stores level-4 and level-8 subtree nodes as the log grows", async () => {
    const { rows } = await t.pool.query<{ level: number; n: string }>("SELECT level, count(*) AS n FROM annal.merkle_nodes GROUP BY level ORDER BY level");
    expect(leaves.length).toBe(1002);
    expect(rows.map((r) => [r.level, Number(r.n)])).toEqual([
      [4, Math.floor(1002 / 16)],
      [8, Math.floor(1002 / 256)],
    ]);
  });

  it("gives, for every position and every checkpointed size, the naive inclusion proof, which verifies against the checkpoint root", async () => {
    for (const size of sizes) {
      const checkpoint = await proofs.checkpointAt(size);
      const root = fromBase64(checkpoint!.rootHash)!;
      for (let index = 0; index < size; index += size > 200 ? 7 : 1) {
        const proof = await proofs.inclusionProof(index, size);
        expect(proof).toEqual(inclusionProofOf(leaves, index, size));
        expect(verifyInclusionProof(index, size, leaves[index]!, proof, root)).toEqual({ ok: true });
      }
    }
  });

  it("gives consistency proofs between every pair of checkpoints that verify", async () => {
    for (const a of sizes) {
      for (const b of sizes) {
        if (a > b) continue;
        const proof = await proofs.consistencyProof(a, b);
        expect(proof).toEqual(consistencyProofOf(leaves, a, b));
        const [ra, rb] = await Promise.all([proofs.checkpointAt(a), proofs.checkpointAt(b)]);
        expect(verifyConsistencyProof(a, b, fromBase64(ra!.rootHash)!, fromBase64(rb!.rootHash)!, proof)).toEqual({ ok: true });
      }
    }
  });

  it("answers proofs against the latest checkpoint in one read while it stays the latest, and follows it when it moves", async () => {
    let queries = 0;
    const counted = new Proxy(t.pool, {
      get: (target, prop): unknown => (prop === "query" ? (...args: Parameters<typeof target.query>) => (queries++, target.query(...args)) : Reflect.get(target, prop)),
    });
    const latestProofs = createPostgresProofs(counted);
    const size = sizes.at(-1)!;
    const root = (await proofs.checkpointAt(size))!.rootHash;
    const check = async (index: number, expectedSize: number, expectedRoot: string, all: Uint8Array[], expectedQueries: number) => {
      queries = 0;
      const found = await latestProofs.latestInclusionProof(index);
      expect(queries).toBe(expectedQueries);
      expect(found?.checkpoint).toEqual({ treeSize: expectedSize, rootHash: expectedRoot });
      expect(found?.proof?.auditPath).toEqual(inclusionProofOf(all, index, expectedSize));
      expect(leafHash(found!.proof!.eventHash)).toEqual(all[index]);
      expect(verifyInclusionProof(index, expectedSize, all[index]!, found!.proof!.auditPath, fromBase64(expectedRoot)!)).toEqual({ ok: true });
    };
    await check(0, size, root, leaves, 2); // nothing seen yet: the checkpoint, then the proof
    for (let index = 1; index < size; index += 7) await check(index, size, root, leaves, 1);
    queries = 0;
    expect(await latestProofs.latestInclusionProof(size)).toEqual({ checkpoint: { treeSize: size, rootHash: root } }); // beyond it: no proof
    expect(queries).toBe(1);

    // The log moves on: the next proof is read again for the new latest checkpoint.
    await t.ledger.append({ streamId: "p-moved", events: Array.from({ length: 20 }, (_, i) => ({ type: "Counted", data: { i } })) });
    const moved = [...leaves, ...(await t.reader.readAll({ fromPosition: size + 1, limit: 100 })).map((r) => leafHash(fromBase64(r.hash)!))];
    const movedRoot = (await proofs.checkpointAt(moved.length))!.rootHash;
    await check(5, moved.length, movedRoot, moved, 2);
    await check(moved.length - 1, moved.length, movedRoot, moved, 1);
    await check(size - 1, moved.length, movedRoot, moved, 1);
    await expect(latestProofs.latestInclusionProof(-1)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
  });

  it("refuses sizes beyond the log and indices outside the tree", async () => {
    await expect(proofs.inclusionProof(0, 5000)).rejects.toMatchObject({ code: "ERR_NOT_FOUND" });
    await expect(proofs.inclusionProof(10, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    await expect(proofs.consistencyProof(0, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    await expect(proofs.consistencyProof(20, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
  });
});
