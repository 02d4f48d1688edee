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

  it("refuses sizes beyond the log and indices outside the tree", async () => {
    await expect(proofs.inclusionProof(0, 5000)).rejects.toMatchObject({ code: "ERR_NOT_FOUND" });
    await expect(proofs.inclusionProof(10, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    await expect(proofs.consistencyProof(0, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    await expect(proofs.consistencyProof(20, 10)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
  });
});
