// Where an inclusion proof's time goes, in process (no HTTP): the latest checkpoint read,
// the subtree read (proofs.inclusionProof), the check against the root. Scratch probe.
import { createPool } from "../../src/store/postgres/pool.js";
import { createPostgresReader } from "../../src/store/postgres/reader.js";
import { createPostgresProofs } from "../../src/store/postgres/proofs.js";
import { fromBase64, leafHash, verifyInclusionProof } from "../../src/core/index.js";
import { percentile } from "./stats.js";

const pool = createPool({ connectionString: process.env.DATABASE_URL!, max: 4, statementTimeoutMs: 30_000 });
const reader = createPostgresReader(pool);
const proofs = createPostgresProofs(pool);
const n = Number(process.env.N ?? 2000);
const stages = { checkpoint: [] as number[], proof: [] as number[], verify: [] as number[], total: [] as number[] };
const cp0 = (await reader.latestCheckpoint())!;
for (let i = 0; i < n + 100; i++) {
  const position = 1 + Math.floor(Math.random() * cp0.treeSize);
  const t0 = performance.now();
  const cp = (await reader.latestCheckpoint())!;
  const t1 = performance.now();
  const path = await proofs.inclusionProof(position - 1, cp.treeSize);
  const t2 = performance.now();
  const hash = (await proofs.eventHash(position))!;
  const v = verifyInclusionProof(position - 1, cp.treeSize, leafHash(hash), path, fromBase64(cp.rootHash)!);
  if (!v.ok) throw new Error(v.reason);
  const t3 = performance.now();
  if (i >= 100) {
    stages.checkpoint.push(t1 - t0);
    stages.proof.push(t2 - t1);
    stages.verify.push(t3 - t2);
    stages.total.push(t3 - t0);
  }
}
for (const [name, xs] of Object.entries(stages)) {
  xs.sort((a, b) => a - b);
  console.log(`${name.padEnd(10)} p50 ${percentile(xs, 50).toFixed(3)} ms  p90 ${percentile(xs, 90).toFixed(3)}  p99 ${percentile(xs, 99).toFixed(3)}  max ${xs[xs.length - 1]!.toFixed(2)}`);
}
await pool.end();
