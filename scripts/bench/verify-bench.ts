// Verification throughput and proof latency, called by `npm run bench` (scripts/bench/
// index.ts) against a log it has filled. Not a test: it measures and reports figures.
//
//   full:  `annal verify --database-url`: every data hash, event hash, global and
//          per-stream link, event signature (worker pool), checkpoint root and signature;
//   fast:  the same without per-event signatures (`--fast`): the checkpoint signatures
//          cover the hashes through the Merkle roots;
//   proof: GET /proofs/inclusion latency for random positions against the latest checkpoint.
import { readFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism } from "node:os";
import { createDatabaseSource } from "../../src/cli/event-sources.js";
import { verifyLog } from "../../src/cli/verify.js";
import { postgresCpuSeconds, postmasterOf } from "./proc-cpu.js";
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
  /** Full and fast runs, in turn; the figures reported are the best of each (default 1). */
  rounds?: number;
  /** Which runs: "full", "fast" or both (default). */
  modes?: ReadonlyArray<"full" | "fast">;
  /**
   * Also run `annal verify --database-url` as a whole process under these runtimes (start-up
   * included), after the in-process runs: Bun's crypto is BoringSSL, Node's OpenSSL.
   */
  cliRuntimes?: ReadonlyArray<"node" | "bun">;
  log?: (line: string) => void;
}

export interface VerificationBenchResult {
  events: number;
  workers: number;
  full?: VerifyRun;
  fast?: VerifyRun;
  proof?: { requests: number; p50Ms: number; p99Ms: number };
}

export interface VerifyRun {
  seconds: number;
  eventsPerSecond: number;
  /** CPU seconds of this process (main thread, workers, and child processes such as esbuild's) and of the PostgreSQL server during the run. */
  clientCpu: number;
  postgresCpu: number;
}

export async function benchVerification(opts: VerificationBenchOptions): Promise<VerificationBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const workers = opts.workers ?? availableParallelism();
  const modes = opts.modes ?? ["full", "fast"];
  let events = 0;
  const postmaster = await postmasterOf(opts.databaseUrl);
  const postgres = () => (postmaster === undefined ? NaN : postgresCpuSeconds(postmaster));
  // The product's own verifier, end to end: reading the log from PostgreSQL included.
  const run = async (full: boolean): Promise<VerifyRun> => {
    const source = createDatabaseSource(opts.databaseUrl);
    const cpu0 = process.cpuUsage();
    const children0 = childrenCpuSeconds();
    const pg0 = postgres();
    const started = performance.now();
    try {
      const report = await verifyLog(source, { fast: !full, progress: false, pageSize: 5000, workers });
      if (!report.ok) throw new Error(`verification failed at ${report.position}: ${report.reason}`);
      events = report.events;
    } finally {
      await source.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { seconds, eventsPerSecond: events / seconds, clientCpu: (cpu.user + cpu.system) / 1e6 + childrenCpuSeconds() - children0, postgresCpu: postgres() - pg0 };
  };
  const line = (name: string, r: VerifyRun) =>
    `verify-bench: ${name} ${Math.round(r.eventsPerSecond)} events/s (${events} events in ${r.seconds.toFixed(2)} s, ${workers} workers; CPU ${r.clientCpu.toFixed(2)} s verifier + ${r.postgresCpu.toFixed(2)} s PostgreSQL)`;
  let full: VerifyRun | undefined;
  let fast: VerifyRun | undefined;
  for (let round = 0; round < Math.max(1, opts.rounds ?? 1); round++) {
    if (modes.includes("full")) {
      const r = await run(true);
      log(line("full", r));
      if (!full || r.eventsPerSecond > full.eventsPerSecond) full = r;
    }
    if (modes.includes("fast")) {
      const r = await run(false);
      log(line("fast", r));
      if (!fast || r.eventsPerSecond > fast.eventsPerSecond) fast = r;
    }
  }

  for (const runtime of opts.cliRuntimes ?? []) {
    for (const mode of modes) {
      const r = await runCli(runtime, opts.databaseUrl, mode === "fast", postgres);
      log(`verify-bench: annal verify${mode === "fast" ? " --fast" : ""} under ${runtime}, whole process: ${Math.round(r.events / r.seconds)} events/s (${r.events} events in ${r.seconds.toFixed(2)} s; CPU ${r.clientCpu.toFixed(2)} s process + ${r.postgresCpu.toFixed(2)} s PostgreSQL)`);
    }
  }

  let proof: VerificationBenchResult["proof"];
  if (opts.url && events > 0) {
    proof = await benchInclusionProofs({ url: opts.url, events, requests: opts.proofRequests ?? 2000, ...(opts.headers ? { headers: opts.headers } : {}) });
    log(`verify-bench: inclusion proof p50 ${proof.p50Ms.toFixed(2)} ms, p99 ${proof.p99Ms.toFixed(2)} ms (${proof.requests} sequential requests, ${events} events)`);
  }
  return { events, workers, ...(full ? { full } : {}), ...(fast ? { fast } : {}), ...(proof ? { proof } : {}) };
}

/** `annal verify` as a user runs it, under Node (bin/annal.js through tsx) or Bun: wall time, the child's CPU and PostgreSQL's. */
async function runCli(runtime: "node" | "bun", databaseUrl: string, fast: boolean, postgres: () => number): Promise<{ events: number; seconds: number; clientCpu: number; postgresCpu: number }> {
  const { spawn } = await import("node:child_process");
  const { BUN, REPO_ROOT } = await import("../../test/support/processes.js");
  const args = [`${REPO_ROOT}bin/annal.js`, "verify", "--database-url", databaseUrl, "--no-progress", ...(fast ? ["--fast"] : [])];
  const children0 = childrenCpuSeconds();
  const pg0 = postgres();
  const started = performance.now();
  const child = spawn(runtime === "bun" ? BUN : process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const seconds = (performance.now() - started) / 1000;
  const match = /OK: (\d+) events/.exec(out);
  if (code !== 0 || !match) throw new Error(`annal verify under ${runtime} failed (exit ${code}): ${out.slice(0, 500)}`);
  return { events: Number(match[1]), seconds, clientCpu: childrenCpuSeconds() - children0, postgresCpu: postgres() - pg0 };
}

/** CPU seconds of this process's children that have ended (Linux /proc; 0 elsewhere). */
function childrenCpuSeconds(): number {
  try {
    const text = readFileSync("/proc/self/stat", "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in USER_HZ (100 on Linux)
  } catch {
    return 0;
  }
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

/**
 * The per-call cost of the primitives `annal verify` is built from, in CPU time of this
 * thread (BENCH_ONLY=verify-primitives): SHA-256 of the sizes it hashes (a Merkle leaf, a
 * node, stored data, an event header) through node:crypto's one-shot hash as a Buffer and
 * as a latin1 string, createHash, and hash-wasm; and Ed25519 verification through
 * node:crypto with a KeyObject made once, with the key passed as DER each call, and
 * through WebCrypto (the same OpenSSL, run on libuv's threads).
 */
export async function benchVerifyPrimitives(log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  const crypto = await import("node:crypto");
  const { createSHA256 } = await import("hash-wasm");
  const wasm = await createSHA256();
  const perCall = (n: number, f: (i: number) => unknown): number => {
    for (let i = 0; i < Math.min(n, 20_000); i++) f(i);
    const keep: unknown[] = [];
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const r = f(i);
      if ((i & 4095) === 0) keep.push(r);
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n; // µs
  };
  for (const size of [33, 65, 112, 450]) {
    const m = crypto.randomBytes(size);
    const row = [
      ["crypto.hash buffer", perCall(300_000, () => crypto.hash("sha256", m, "buffer"))],
      ["crypto.hash latin1", perCall(300_000, () => crypto.hash("sha256", m, "binary"))],
      ["createHash", perCall(300_000, () => crypto.createHash("sha256").update(m).digest())],
      ["hash-wasm", perCall(300_000, () => (wasm.init(), wasm.update(m), wasm.digest("binary")))],
    ] as const;
    log(`verify-primitives: SHA-256 of ${size} bytes, CPU per call: ${row.map(([name, us]) => `${name} ${(us * 1000).toFixed(0)} ns`).join(", ")}`);
  }
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const n = 5000;
  const messages = Array.from({ length: n }, () => crypto.randomBytes(32));
  const signatures = messages.map((m) => crypto.sign(null, m, privateKey));
  const der = publicKey.export({ format: "der", type: "spki" });
  const keyObject = perCall(n, (i) => crypto.verify(null, messages[i]!, publicKey, signatures[i]!));
  const derEach = perCall(n, (i) => crypto.verify(null, messages[i]!, { key: der, format: "der", type: "spki" }, signatures[i]!));
  const subtle = crypto.webcrypto.subtle;
  const webKey = await subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
  const cpu0 = process.resourceUsage();
  await Promise.all(messages.map((m, i) => subtle.verify({ name: "Ed25519" }, webKey, signatures[i]!, m)));
  const cpu1 = process.resourceUsage();
  // WebCrypto verifies on libuv's threads: the whole process's CPU, per verification.
  const web = (cpu1.userCPUTime - cpu0.userCPUTime + cpu1.systemCPUTime - cpu0.systemCPUTime) / n;
  log(`verify-primitives: Ed25519 verify, CPU per call: crypto.verify KeyObject ${keyObject.toFixed(1)} µs (${Math.round(1e6 / keyObject)}/s per core), DER key each call ${derEach.toFixed(1)} µs, WebCrypto ${web.toFixed(1)} µs`);
  // The machine's ceiling for full verification: verifications per second of wall time on
  // 1, 2, ... threads at once (each its own KeyObject and signatures), nothing else running.
  for (let threads = 1; threads <= availableParallelism(); threads++) {
    const rate = await parallelVerifyRate(threads, 8000);
    log(`verify-primitives: Ed25519 crypto.verify on ${threads} thread(s) at once: ${Math.round(rate)} verifications/s wall`);
  }
}

async function parallelVerifyRate(threads: number, each: number): Promise<number> {
  const { Worker } = await import("node:worker_threads");
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const crypto = require("node:crypto");
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
    const messages = Array.from({ length: workerData }, () => crypto.randomBytes(32));
    const signatures = messages.map((m) => crypto.sign(null, m, privateKey));
    parentPort.postMessage("ready");
    parentPort.once("message", () => {
      let ok = 0;
      for (let i = 0; i < messages.length; i++) if (crypto.verify(null, messages[i], publicKey, signatures[i])) ok++;
      parentPort.postMessage(ok);
    });`;
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true, workerData: each }));
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
    const started = performance.now();
    const done = workers.map((w) => new Promise((resolve) => w.once("message", resolve)));
    for (const w of workers) w.postMessage("go");
    await Promise.all(done);
    return (threads * each) / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
