// Where an inclusion proof's time goes in process, without HTTP, on a filled log
// (DATABASE_URL): the latest checkpoint read, the subtree read (proofs.inclusionProof) and
// the check against the root, against the single read of latestInclusionProof. Not a test.
//
//   DATABASE_URL=postgres://.../db N=2000 node --import tsx scripts/bench/proof-breakdown.ts
import { fromBase64, leafHash, verifyInclusionProof } from "../../src/core/index.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { createPostgresProofs } from "../../src/store/postgres/proofs.js";
import { createPostgresReader } from "../../src/store/postgres/reader.js";
import { percentile } from "./stats.js";

const pool = createPool({ connectionString: process.env.DATABASE_URL!, max: 4, statementTimeoutMs: 30_000 });
const reader = createPostgresReader(pool);
const proofs = createPostgresProofs(pool);
const n = Number(process.env.N ?? 2000);
const stages = { "latest checkpoint": [] as number[], "subtree read": [] as number[], "check": [] as number[], "two reads": [] as number[], "one read (latestInclusionProof)": [] as number[] };
const size = (await reader.latestCheckpoint())!.treeSize;
for (let i = 0; i < n + 100; i++) {
  const position = 1 + Math.floor(Math.random() * size);
  const t0 = performance.now();
  const cp = (await reader.latestCheckpoint())!;
  const t1 = performance.now();
  const path = await proofs.inclusionProof(position - 1, cp.treeSize);
  const t2 = performance.now();
  const verdict = verifyInclusionProof(position - 1, cp.treeSize, leafHash((await proofs.eventHash(position))!), path, fromBase64(cp.rootHash)!);
  if (!verdict.ok) throw new Error(verdict.reason);
  const t3 = performance.now();
  const found = await proofs.latestInclusionProof(position - 1);
  const t4 = performance.now();
  if (found?.proof === undefined) throw new Error(`no proof of ${position}`);
  if (i < 100) continue;
  stages["latest checkpoint"].push(t1 - t0);
  stages["subtree read"].push(t2 - t1);
  stages.check.push(t3 - t2);
  stages["two reads"].push(t3 - t0);
  stages["one read (latestInclusionProof)"].push(t4 - t3);
}
for (const [name, xs] of Object.entries(stages)) {
  xs.sort((a, b) => a - b);
  console.log(`proof-breakdown: ${name.padEnd(32)} p50 ${percentile(xs, 50).toFixed(3)} ms  p90 ${percentile(xs, 90).toFixed(3)}  p99 ${percentile(xs, 99).toFixed(3)}  max ${xs[xs.length - 1]!.toFixed(2)}  (${n} proofs, log of ${size})`);
}
await pool.end();
