// Verification throughput and proof latency, called by `npm run bench` (scripts/bench/
// index.ts) against a log it has filled. Not a test: it measures and reports figures.
//
//   full:  `annal verify --database-url`: every data hash, event hash, global and
//          per-stream link, event signature (worker pool), checkpoint root and signature;
//   fast:  the same without per-event signatures (`--fast`): the checkpoint signatures
//          cover the hashes through the Merkle roots;
//   proof: GET /proofs/inclusion latency for random positions against the latest checkpoint.
import http from "node:http";
import { availableParallelism } from "node:os";
import { createDatabaseSource } from "../../src/cli/event-sources.js";
import { verifyLog } from "../../src/cli/verify.js";
import { percentile } from "./stats.js";

export interface VerificationBenchOptions {
  /** The log to verify. */
  databaseUrl: string;
  /** A running Annal over the same log, for proof latency; skipped when absent. */
  url?: string;
  /** Extra headers for the proof requests (e.g. a bearer token with audit:read). */
  headers?: Record<string, string>;
  /** Worker threads for event signatures; default: one per core. */
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

export async function benchVerification(opts: VerificationBenchOptions): Promise<VerificationBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const workers = opts.workers ?? availableParallelism();
  let events = 0;
  // The product's own verifier, end to end: reading the log from PostgreSQL included.
  const run = async (full: boolean) => {
    const source = createDatabaseSource(opts.databaseUrl);
    const started = performance.now();
    try {
      const report = await verifyLog(source, { fast: !full, progress: false, pageSize: 5000, workers });
      if (!report.ok) throw new Error(`verification failed at ${report.position}: ${report.reason}`);
      events = report.events;
    } finally {
      await source.close();
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, eventsPerSecond: events / seconds };
  };
  const full = await run(true);
  log(`verify-bench: full ${Math.round(full.eventsPerSecond)} events/s (${events} events in ${full.seconds.toFixed(2)} s, ${workers} signature workers)`);
  const fast = await run(false);
  log(`verify-bench: fast ${Math.round(fast.eventsPerSecond)} events/s (${events} events in ${fast.seconds.toFixed(2)} s)`);

  let proof: VerificationBenchResult["proof"];
  if (opts.url && events > 0) {
    proof = await benchInclusionProofs({ url: opts.url, events, requests: opts.proofRequests ?? 2000, ...(opts.headers ? { headers: opts.headers } : {}) });
    log(`verify-bench: inclusion proof p50 ${proof.p50Ms.toFixed(2)} ms, p99 ${proof.p99Ms.toFixed(2)} ms (${proof.requests} sequential requests, ${events} events)`);
  }
  return { events, workers, full, fast, ...(proof ? { proof } : {}) };
}

/**
 * GET /proofs/inclusion latency for random positions of a log of `events` events against
 * the latest checkpoint: sequential requests on a warm keep-alive connection, after 100
 * unrecorded ones (connections and caches warm up), each timed until its whole body is
 * read. The client is node:http with a keep-alive agent, not fetch: on this machine's two
 * shared cores fetch (undici) costs the client about 0.5 ms more CPU per request, which
 * competes with the server being measured (scripts/bench/proof-ab.ts times both clients).
 */
export async function benchInclusionProofs(opts: { url: string; events: number; requests: number; headers?: Record<string, string> }): Promise<{ requests: number; p50Ms: number; p99Ms: number }> {
  const base = opts.url.replace(/\/+$/, "");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url: string) =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers: opts.headers ?? {} }, (response) => {
          response.on("data", () => undefined);
          response.on("error", reject);
          response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`GET /proofs/inclusion answered ${response.statusCode}`))));
        })
        .on("error", reject);
    });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < opts.requests + 100; i++) {
      const position = 1 + Math.floor(Math.random() * opts.events);
      const t0 = performance.now();
      await get(`${base}/proofs/inclusion?position=${position}`);
      if (i >= 100) latencies.push(performance.now() - t0);
    }
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  return { requests: opts.requests, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
