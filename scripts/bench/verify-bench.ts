// Verification throughput and proof latency, called by `npm run bench` (scripts/bench/
// index.ts) against a log it has filled. Not a test: it measures and returns figures.
//
//   full:  every data hash, event hash and Ed25519 signature (workers, one per core) plus
//          the chain links, Merkle roots and checkpoint signatures (main thread);
//   fast:  the same without per-event signatures: a checkpoint signature covers the
//          hashes through the Merkle root.
//   proof: GET /proofs/inclusion latency for random positions against the latest checkpoint.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { createPublicKey, hash as digest, verify } from "node:crypto";
import { findNoteSignature, parseCheckpointBody, parseNote, parseVerifierKey } from "../../src/core/index.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { createPostgresReader } from "../../src/store/postgres/reader.js";
import { percentile } from "./stats.js";

export interface VerificationBenchOptions {
  /** The log to verify (read before the clock starts). */
  databaseUrl: string;
  /** A running Annal over the same log, for proof latency; skipped when absent. */
  url?: string;
  /** Extra headers for the proof requests (e.g. a bearer token with audit:read). */
  headers?: Record<string, string>;
  /** Worker threads for per-event work; default: one per core. */
  workers?: number;
  /** Inclusion proofs to request; default 2000. */
  proofRequests?: number;
  log?: (line: string) => void;
}

export interface VerificationBenchResult {
  events: number;
  workers: number;
  full: { seconds: number; eventsPerSecond: number };
  fast: { seconds: number; eventsPerSecond: number };
  proof?: { requests: number; p50Ms: number; p99Ms: number };
}

interface ChainRow {
  position: number;
  stream_id: string;
  stream_version: number;
  prev_hash: Buffer;
  stream_prev_hash: Buffer;
  hash: Buffer;
}

export async function benchVerification(opts: VerificationBenchOptions): Promise<VerificationBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const workers = opts.workers ?? availableParallelism();
  const pool = createPool({ connectionString: opts.databaseUrl, max: 2, applicationName: "annal-verify-bench" });
  let rows: ChainRow[];
  let checkpoints: Awaited<ReturnType<ReturnType<typeof createPostgresReader>["checkpointsUpTo"]>>;
  let keys: Record<string, string>;
  let noteKeys: { name: string; publicKey: Uint8Array }[];
  try {
    const reader = createPostgresReader(pool);
    const published = await reader.publicKeys();
    keys = Object.fromEntries(published.map((k) => [k.keyId, k.publicKey]));
    noteKeys = published.map((k) => parseVerifierKey(k.noteVerifierKey)!);
    rows = (await pool.query<ChainRow>("SELECT position, stream_id, stream_version, prev_hash, stream_prev_hash, hash FROM annal.events ORDER BY position")).rows;
    checkpoints = await reader.checkpointsUpTo(Number.MAX_SAFE_INTEGER);
  } finally {
    await pool.end();
  }
  const events = rows.length;
  log(`verify-bench: ${events} events, ${checkpoints.length} checkpoints, ${workers} workers`);

  const run = async (full: boolean) => {
    const slice = Math.ceil(events / workers);
    const threads = Array.from({ length: workers }, (_, i) => startWorker({ databaseUrl: opts.databaseUrl, from: i * slice + 1, to: Math.min(events, (i + 1) * slice), full, keys }));
    try {
      await Promise.all(threads.map((t) => nextMessage(t)));
      const started = performance.now();
      const done = threads.map((t) => nextMessage(t));
      for (const t of threads) t.postMessage("go");
      const chain = verifyChainAndRoots(rows, checkpoints, noteKeys);
      const results = await Promise.all(done);
      const seconds = (performance.now() - started) / 1000;
      const failed = results.find((r) => !r.ok);
      if (!chain.ok || failed) throw new Error(`verification failed: ${chain.ok ? `${failed!.reason} at ${failed!.position}` : chain.reason}`);
      return { seconds, eventsPerSecond: events / seconds };
    } finally {
      await Promise.all(threads.map((t) => t.terminate()));
    }
  };
  const full = await run(true);
  log(`verify-bench: full ${Math.round(full.eventsPerSecond)} events/s (${full.seconds.toFixed(2)} s)`);
  const fast = await run(false);
  log(`verify-bench: fast ${Math.round(fast.eventsPerSecond)} events/s (${fast.seconds.toFixed(2)} s)`);

  let proof: VerificationBenchResult["proof"];
  if (opts.url && events > 0) {
    const requests = opts.proofRequests ?? 2000;
    const base = opts.url.replace(/\/+$/, "");
    const latencies: number[] = [];
    for (let i = 0; i < requests + 100; i++) {
      const position = 1 + Math.floor(Math.random() * events);
      const t0 = performance.now();
      const response = await fetch(`${base}/proofs/inclusion?position=${position}`, { headers: opts.headers ?? {} });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`GET /proofs/inclusion answered ${response.status}`);
      // The first 100 warm connections and caches up.
      if (i >= 100) latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    proof = { requests, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
    log(`verify-bench: inclusion proof p50 ${proof.p50Ms.toFixed(2)} ms, p99 ${proof.p99Ms.toFixed(2)} ms (${requests} sequential requests)`);
  }
  return { events, workers, full, fast, ...(proof ? { proof } : {}) };
}

// tsx's loader hooks do not reach worker threads on Node 20, so each worker registers
// them before importing the TypeScript worker module (Bun runs TypeScript natively).
function startWorker(workerData: unknown): Worker {
  const url = new URL("./verify-worker.ts", import.meta.url).href;
  const bootstrap = typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })` : `import(${JSON.stringify(url)})`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function nextMessage(worker: Worker): Promise<{ type: string; ok?: boolean; position?: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

const ZERO = Buffer.alloc(32);
// Reused input buffers: allocation, not SHA-256, dominates hashing 33 or 65 bytes.
const leafInput = Buffer.alloc(33);
const nodeInput = Buffer.alloc(65);
nodeInput[0] = 1;
const leafOf = (hash: Buffer) => {
  hash.copy(leafInput, 1);
  return digest("sha256", leafInput, "buffer");
};
const nodeOf = (left: Buffer, right: Buffer) => {
  left.copy(nodeInput, 1);
  right.copy(nodeInput, 33);
  return digest("sha256", nodeInput, "buffer");
};

/** Chain links, per-stream links, Merkle roots at every checkpoint and checkpoint signatures, with node:crypto. */
function verifyChainAndRoots(rows: ChainRow[], checkpoints: { treeSize: number; note: string }[], noteKeys: { name: string; publicKey: Uint8Array }[]): { ok: true } | { ok: false; reason: string } {
  const keyObjects = noteKeys.map((k) => ({ ...k, object: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(k.publicKey).toString("base64url") }, format: "jwk" }) }));
  const streams = new Map<string, { version: number; hash: Buffer }>();
  const stack: Buffer[] = [];
  let prev: Buffer = ZERO;
  let next = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.position !== i + 1 || !r.prev_hash.equals(prev)) return { ok: false, reason: `chain breaks at ${i + 1}` };
    const s = streams.get(r.stream_id);
    if (r.stream_version !== (s?.version ?? 0) + 1 || !r.stream_prev_hash.equals(s?.hash ?? ZERO)) return { ok: false, reason: `stream chain breaks at ${r.position}` };
    streams.set(r.stream_id, { version: r.stream_version, hash: r.hash });
    prev = r.hash;
    let node = leafOf(r.hash);
    for (let size = i; size % 2 === 1; size = Math.floor(size / 2)) node = nodeOf(stack.pop()!, node);
    stack.push(node);
    while (next < checkpoints.length && checkpoints[next]!.treeSize === i + 1) {
      const cp = checkpoints[next++]!;
      const parsed = parseNote(cp.note);
      const body = parsed && parseCheckpointBody(parsed.text);
      let root = stack[stack.length - 1]!;
      for (let j = stack.length - 2; j >= 0; j--) root = nodeOf(stack[j]!, root);
      if (!parsed || !body || body.rootHash !== root.toString("base64")) return { ok: false, reason: `checkpoint ${cp.treeSize} root` };
      const text = Buffer.from(parsed.text);
      const signed = keyObjects.some((k) => {
        const sig = findNoteSignature(parsed, k.name, k.publicKey);
        return sig !== undefined && verify(null, text, k.object, sig.signature);
      });
      if (!signed) return { ok: false, reason: `checkpoint ${cp.treeSize} signature` };
    }
  }
  return { ok: true };
}
