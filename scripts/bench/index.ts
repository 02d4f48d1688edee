// `npm run bench`: append throughput and latency against a real, durable PostgreSQL
// (embedded, fsync on, synchronous_commit on), for the Annal ledger library, Annal over
// HTTP, and Emmett's PostgreSQL event store on the same server. Not a test: nothing here
// asserts; it prints figures to copy into docs/benchmarks.md.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import { pino } from "pino";
import { openAnnal } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { startEmbeddedPostgres } from "../../src/store/postgres/embedded.js";
import { startServerProcess, type ServerProcess } from "../../test/support/processes.js";
import { fillLog, payload } from "./fill-log.js";
import { formatRow, runClosedLoop, type LoadResult } from "./stats.js";
import { formatOpenLoop, runOpenLoop } from "./open-loop.js";
import { postgresCpuSeconds, postmasterOf, processCpuSeconds } from "./proc-cpu.js";
import { formatStageBreakdown, parseStageMetrics, type StageScrape } from "./stage-breakdown.js";
import type { DevClient } from "../../src/auth/index.js";

const SCALE = Number(process.env.BENCH_SCALE ?? "1");
const results: LoadResult[] = [];
const report = (r: LoadResult) => {
  results.push(r);
  console.log(formatRow(r));
};

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}


async function benchLedger(adminUrl: string, home: string) {
  const url = await createDatabase(adminUrl, "bench_annal_lib");
  // ANNAL_SIGN_WORKERS reaches the library as it reaches the servers (they inherit the environment).
  const signWorkers = process.env.ANNAL_SIGN_WORKERS === undefined ? {} : { ANNAL_SIGN_WORKERS: process.env.ANNAL_SIGN_WORKERS };
  const annal = await openAnnal(loadConfig({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ...signWorkers }), pino({ level: "silent" }));
  try {
    await runClosedLoop("warm-up", { concurrency: 64, totalOps: 2000, eventsPerOp: 1 }, (w) => annal.ledger.append({ streamId: `warm-${w}`, events: [{ type: "Warmed", data: {} }] }));
    report(
      await runClosedLoop("(a) ledger library, 64 concurrent single-event appends", { concurrency: 64, totalOps: 30_000 * SCALE, eventsPerOp: 1 }, (w, i) =>
        annal.ledger.append({ streamId: `a-${w}`, events: [{ type: "OrderPlaced", data: payload(i) }] }),
      ),
    );
    report(
      await runClosedLoop("(b) ledger library, 100-event appends (8 concurrent)", { concurrency: 8, totalOps: 1000 * SCALE, eventsPerOp: 100 }, (w, i) =>
        annal.ledger.append({ streamId: `b-${w}`, events: Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: payload(i * 100 + j) })) }),
      ),
    );
  } finally {
    await annal.close();
  }
}

interface HttpRun {
  url: string;
  connections: number;
  seconds: number;
  body: string;
  headers?: Record<string, string>;
}

/** Closed loop (autocannon): `connections` clients, each sending its next append when answered. */
async function appendLoad(run: HttpRun): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: run.url,
    connections: run.connections,
    duration: run.seconds,
    requests: [{ method: "POST", headers: { "content-type": "application/json", ...run.headers }, setupRequest: (req) => ({ ...req, path: `/streams/h-${n++ % 1000}/events`, body: run.body }) }],
  });
}

function reportLoad(name: string, result: autocannon.Result, eventsPerOp: number): LoadResult {
  const ok = result["2xx"];
  const row = { name, events: ok * eventsPerOp, seconds: result.duration, eventsPerSecond: (ok * eventsPerOp) / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
  report(row);
  if (result.non2xx > 0 || result.errors > 0) console.log(`   ! ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return row;
}

/** A writer's access token from the embedded development issuer (client_credentials). */
async function writerToken(url: string, home: string): Promise<string> {
  const clients = JSON.parse(await readFile(join(home, "dev-clients.json"), "utf8")) as DevClient[];
  const writer = clients.find((c) => c.role === "writer")!;
  const response = await fetch(`${url}/oidc/token`, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${writer.clientId}:${writer.clientSecret}`)}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (body.access_token === undefined) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function scrapeStages(url: string, headers: Record<string, string> = {}): Promise<StageScrape> {
  const response = await fetch(`${url}/metrics`, { headers });
  return parseStageMetrics(await response.text());
}

async function benchHttp(adminUrl: string, home: string) {
  const url = await createDatabase(adminUrl, "bench_annal_http");
  const postmaster = await postmasterOf(url);
  const one = JSON.stringify({ events: [{ type: "OrderPlaced", data: payload(1) }] });
  const hundred = JSON.stringify({ events: Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: payload(j) })) });
  const seconds = 15 * SCALE;
  // BENCH_HTTP_RUNTIMES=node,bun runs the server under each (Bun from the npm package).
  for (const runtime of (process.env.BENCH_HTTP_RUNTIMES ?? "node").split(",") as Array<"node" | "bun">) {
    const tag = runtime === "node" ? "" : ` [${runtime}]`;
    /** Workload (c) on `server`, with the CPU it and PostgreSQL spent per append. */
    const singleEvents = async (server: ServerProcess, name: string) => {
      await appendLoad({ url: server.url, connections: 64, seconds: 3, body: one }); // warm-up: JIT, connections, stream heads
      const cpu = () => ({ server: processCpuSeconds(server.process.pid!), postgres: postmaster === undefined ? NaN : postgresCpuSeconds(postmaster) });
      const before = cpu();
      const c = reportLoad(name, await appendLoad({ url: server.url, connections: 64, seconds, body: one }), 1);
      const after = cpu();
      const perEvent = (s: number) => (s * 1000) / c.events;
      const serverMs = perEvent(after.server - before.server);
      const postgresMs = perEvent(after.postgres - before.postgres);
      console.log(`   CPU per append: server ${serverMs.toFixed(3)} ms + PostgreSQL ${postgresMs.toFixed(3)} ms = ${(serverMs + postgresMs).toFixed(3)} ms (utime+stime from /proc over the run)`);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const paths = [...metrics.matchAll(/^annal_append_batches_total\{path="(\w+)"\} (\S+)$/gm)].map(([, path, n]) => `${path} ${n}`);
      const events = /^annal_commit_batch_events_sum (\S+)$/m.exec(metrics)?.[1];
      const batches = /^annal_commit_batch_events_count (\S+)$/m.exec(metrics)?.[1];
      console.log(`   batches since start: ${paths.join(", ")}; ${(Number(events) / Number(batches)).toFixed(1)} events per batch`);
    };
    // The append path alone: no projection or sealer following the log in the same process.
    // A database of its own, so the default server's followers do not start behind its events.
    const lean = await startServerProcess({ DATABASE_URL: await createDatabase(adminUrl, `bench_annal_http_lean_${runtime}`), ANNAL_HOME: home, ANNAL_LOG_LEVEL: "warn", ANNAL_ACCESS_LOG: "0", ANNAL_AUTH: "off", ANNAL_PROJECTIONS: "none", ANNAL_ARCHIVE: "off" }, runtime);
    try {
      await singleEvents(lean, `(c) HTTP single-event appends, 64 connections, auth off, followers off${tag}`);
    } finally {
      await lean.stop();
    }
    const server = await startServerProcess({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "warn", ANNAL_ACCESS_LOG: "0", ANNAL_AUTH: "off" }, runtime);
    try {
      await singleEvents(server, `(c) HTTP single-event appends, 64 connections, auth off${tag}`);
      reportLoad(`(d) HTTP 100-event appends, 8 connections${tag}`, await appendLoad({ url: server.url, connections: 8, seconds, body: hundred }), 100);
      // Capacity against latency: a fixed arrival rate, latency from the scheduled send time.
      for (const rate of (process.env.BENCH_OPEN_RATES ?? "1000,2000,3000,4000,5000,6000").split(",").map(Number)) {
        console.log(formatOpenLoop(await runOpenLoop({ url: server.url, rate, seconds: 5 * SCALE, connections: 256, path: (i) => `/streams/o-${i % 1000}/events`, body: one })));
      }
    } finally {
      await server.stop();
    }
    if (runtime !== "node") continue;
    // Auth on: the embedded development issuer, a writer's token on every request.
    const secured = await startServerProcess({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "warn", ANNAL_ACCESS_LOG: "0", ANNAL_AUTH: "oidc" }, runtime);
    try {
      const headers = { authorization: `Bearer ${await writerToken(secured.url, home)}` };
      await appendLoad({ url: secured.url, connections: 64, seconds: 3, body: one, headers });
      reportLoad(`(c) HTTP single-event appends, 64 connections, auth on${tag}`, await appendLoad({ url: secured.url, connections: 64, seconds, body: one, headers }), 1);
    } finally {
      await secured.stop();
    }
    // Where a request waits: the same load with every append's timeline recorded.
    if (process.env.BENCH_TRACE === "0") continue;
    const traced = await startServerProcess({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "warn", ANNAL_ACCESS_LOG: "0", ANNAL_AUTH: "off", ANNAL_TRACE_APPENDS: "1" }, runtime);
    try {
      await appendLoad({ url: traced.url, connections: 64, seconds: 3, body: one });
      let before = await scrapeStages(traced.url);
      reportLoad(`(c) traced (ANNAL_TRACE_APPENDS=1), 64 connections${tag}`, await appendLoad({ url: traced.url, connections: 64, seconds: 10 * SCALE, body: one }), 1);
      for (const line of formatStageBreakdown(before, await scrapeStages(traced.url))) console.log(line);
      const rate = Number(process.env.BENCH_TRACE_OPEN_RATE ?? 2000);
      before = await scrapeStages(traced.url);
      console.log(formatOpenLoop(await runOpenLoop({ url: traced.url, rate, seconds: 10 * SCALE, connections: 256, path: (i) => `/streams/o-${i % 1000}/events`, body: one })).replace("open loop", "traced open loop"));
      for (const line of formatStageBreakdown(before, await scrapeStages(traced.url))) console.log(line);
    } finally {
      await traced.stop();
    }
  }
}

/** Workload (c) against a handler that does nothing: what the HTTP stack alone costs here. */
async function benchHttpBaseline() {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./hono-baseline.ts", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`baseline server exited with ${code}`)));
    });
    const body = JSON.stringify({ events: [{ type: "OrderPlaced", data: payload(1) }] });
    let n = 0;
    const result = await autocannon({
      url,
      connections: 64,
      duration: 15 * SCALE,
      requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req) => ({ ...req, path: `/streams/h-${n++ % 1000}/events`, body }) }],
    });
    report({ name: "(c0) HTTP stack alone (Hono, parse body, 201), 64 connections", events: result["2xx"], seconds: result.duration, eventsPerSecond: result["2xx"] / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99 });
  } finally {
    child.kill("SIGTERM");
  }
}

async function benchEmmett(adminUrl: string) {
  const url = await createDatabase(adminUrl, "bench_emmett");
  const { getPostgreSQLEventStore } = await import("@event-driven-io/emmett-postgresql");
  const store = getPostgreSQLEventStore(url);
  try {
    await runClosedLoop("warm-up", { concurrency: 64, totalOps: 2000, eventsPerOp: 1 }, (w) => store.appendToStream(`warm-${w}`, [{ type: "Warmed", data: {} }]));
    report(
      await runClosedLoop("(a) Emmett PostgreSQL, 64 concurrent single-event appends", { concurrency: 64, totalOps: 10_000 * SCALE, eventsPerOp: 1 }, (w, i) =>
        store.appendToStream(`a-${w}`, [{ type: "OrderPlaced", data: payload(i) }]),
      ),
    );
    report(
      await runClosedLoop("(b) Emmett PostgreSQL, 100-event appends (8 concurrent)", { concurrency: 8, totalOps: 500 * SCALE, eventsPerOp: 100 }, (w, i) =>
        store.appendToStream(`b-${w}`, Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: payload(i * 100 + j) }))),
      ),
    );
  } finally {
    await store.close();
  }
}

/**
 * Fills a log of BENCH_VERIFY_EVENTS (default 1,000,000 x BENCH_SCALE) events, then verifies it and asks for proofs.
 * BENCH_VERIFY_DATABASE_URL reuses a log filled before (not dropped), so experiments on the
 * verifier do not refill; BENCH_VERIFY_PROOFS=0 skips the proof latency (no server started);
 * BENCH_VERIFY_ROUNDS repeats full and fast in turn (default 1); BENCH_VERIFY_WORKERS sets the
 * worker threads (default: one per core); BENCH_VERIFY_MODES=fast (or full) runs only one;
 * BENCH_VERIFY_CLI=node,bun also times `annal verify` as a whole process under each runtime.
 */
async function benchVerify(adminUrl: string, home: string) {
  let url = process.env.BENCH_VERIFY_DATABASE_URL;
  if (!url) {
    url = await createDatabase(adminUrl, "bench_verify");
    const target = Number(process.env.BENCH_VERIFY_EVENTS ?? Math.round(1_000_000 * SCALE));
    const annal = await openAnnal(loadConfig({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off" }), pino({ level: "silent" }));
    const started = performance.now();
    try {
      await fillLog(annal, { events: target, streamId: (w, i) => `v-${w}-${i % 50}`, label: "verification" });
    } finally {
      await annal.close();
    }
    process.stderr.write(`\rfilled ${target} events in ${((performance.now() - started) / 1000).toFixed(0)} s${" ".repeat(20)}\n`);
  }
  const proofs = process.env.BENCH_VERIFY_PROOFS !== "0";
  // The archive off: otherwise the server starts sealing the whole log while proofs are timed.
  const server = proofs ? await startServerProcess({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "warn", ANNAL_AUTH: "off", ANNAL_ARCHIVE: "off" }) : undefined;
  try {
    const { benchVerification } = await import("./verify-bench.js");
    await benchVerification({ databaseUrl: url, ...(server ? { url: server.url } : {}), rounds: Number(process.env.BENCH_VERIFY_ROUNDS ?? 1), ...(process.env.BENCH_VERIFY_WORKERS ? { workers: Number(process.env.BENCH_VERIFY_WORKERS) } : {}),
      ...(process.env.BENCH_VERIFY_MODES ? { modes: process.env.BENCH_VERIFY_MODES.split(",") as Array<"full" | "fast"> } : {}),
      ...(process.env.BENCH_VERIFY_CLI ? { cliRuntimes: process.env.BENCH_VERIFY_CLI.split(",") as Array<"node" | "bun"> } : {}),
    });
  } finally {
    await server?.stop();
  }
}

/**
 * Inclusion proofs at scale: a log of BENCH_PROOF_EVENTS (default 10,000,000) events,
 * filled by bulkFillLog (the ledger's own planner and writer, large batches), then
 * GET /proofs/inclusion latency over HTTP. BENCH_PROOF_DATABASE_URL reuses a log filled
 * before (the fill is the long part); it is not dropped.
 */
async function benchProofsAtScale(adminUrl: string, home: string) {
  const events = Number(process.env.BENCH_PROOF_EVENTS ?? 10_000_000);
  let url = process.env.BENCH_PROOF_DATABASE_URL;
  if (!url) {
    url = await createDatabase(adminUrl, "bench_proofs");
    // A 10,000-event batch is one statement, which may take longer than the default 3 s statement timeout on a loaded machine.
    const config = loadConfig({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off", ANNAL_SIGN_WORKERS: "2", ANNAL_DB_STATEMENT_TIMEOUT_MS: "300000", ANNAL_REQUEST_TIMEOUT_MS: "400000" });
    const annal = await openAnnal(config, pino({ level: "silent" }));
    try {
      const { bulkFillLog } = await import("./bulk-fill.js");
      const { seconds } = await bulkFillLog(annal, { events, origin: config.origin, label: "proofs" });
      console.log(`proofs: filled ${events} events in ${seconds.toFixed(0)} s (${Math.round(events / seconds)} events/s, bulkFillLog)`);
    } finally {
      await annal.close();
    }
  }
  // BENCH_PROOF_HOME: the ANNAL_HOME the reused log was filled with (scripts/bench/proof-fill.ts),
  // so the server holds the key in force instead of publishing a key of its own.
  const server = await startServerProcess({ DATABASE_URL: url, ANNAL_HOME: process.env.BENCH_PROOF_HOME ?? home, ANNAL_LOG_LEVEL: "warn", ANNAL_AUTH: "off", ANNAL_ARCHIVE: "off" });
  try {
    const { benchInclusionProofs } = await import("./verify-bench.js");
    const size = Number((await (await fetch(`${server.url}/checkpoints/latest`)).json() as { treeSize: number }).treeSize);
    const proof = await benchInclusionProofs({ url: server.url, events: size, requests: Number(process.env.BENCH_PROOF_REQUESTS ?? 2000) });
    console.log(`proofs: inclusion proof p50 ${proof.p50Ms.toFixed(2)} ms, p99 ${proof.p99Ms.toFixed(2)} ms (${proof.requests} sequential requests over HTTP, log of ${size} events)`);
  } finally {
    await server.stop();
  }
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "annal-bench-"));
  const external = process.env.BENCH_DATABASE_URL;
  const embedded = external ? undefined : await startEmbeddedPostgres(join(dir, "postgres"));
  // The embedded server's Unix socket, as `npm start` connects (see EmbeddedPostgresHandle.localUrl).
  const adminUrl = external ?? embedded!.localUrl;
  console.log(`PostgreSQL: ${external ? "external (BENCH_DATABASE_URL)" : "embedded"}, durable commits (fsync=on, synchronous_commit=on)`);
  try {
    // BENCH_ONLY=edge,lib,http,emmett,verify,verify-primitives,projections,archive,kafka,keys,proofs picks sections.
    // All but `proofs` run by default: proofs at scale fill a 10,000,000-event log first (BENCH_PROOF_EVENTS).
    const only = new Set((process.env.BENCH_ONLY ?? "edge,lib,http,emmett,verify,projections,archive,kafka,keys").split(","));
    if (only.has("edge")) {
      const { benchEdge } = await import("./edge-bench.js");
      for (const r of await benchEdge()) console.log(`${r.name.padEnd(62)} ${r.perSecond.toFixed(0).padStart(6)} req/s  ${r.microsPerRequest.toFixed(1)} µs wall  ${r.cpuMicrosPerRequest.toFixed(1)} µs CPU per request (in process, no database)`);
    }
    if (only.has("lib")) await benchLedger(adminUrl, join(dir, "lib"));
    if (only.has("http")) await benchHttp(adminUrl, join(dir, "http"));
    if (only.has("http")) await benchHttpBaseline();
    if (only.has("emmett")) await benchEmmett(adminUrl);
    const find = (prefix: string) => results.find((r) => r.name.startsWith(prefix));
    for (const k of ["(a)", "(b)"]) {
      const annal = find(`${k} ledger`);
      const emmett = find(`${k} Emmett`);
      if (annal && emmett) console.log(`${k} Annal / Emmett: ${(annal.eventsPerSecond / emmett.eventsPerSecond).toFixed(2)}x`);
    }
    if (only.has("verify")) await benchVerify(adminUrl, join(dir, "verify"));
    if (only.has("verify-primitives")) await (await import("./verify-bench.js")).benchVerifyPrimitives();
    if (only.has("proofs")) await benchProofsAtScale(adminUrl, join(dir, "proofs"));
    if (only.has("projections")) {
      const { benchProjections } = await import("./projection-bench.js");
      await benchProjections({
        catchUpUrl: await createDatabase(adminUrl, "bench_projections"),
        lagUrl: await createDatabase(adminUrl, "bench_projection_lag"),
        inlineUrl: await createDatabase(adminUrl, "bench_projection_inline"),
        home: join(dir, "projections"),
        events: Number(process.env.BENCH_PROJECTION_EVENTS ?? Math.round(1_000_000 * SCALE)),
        streams: 1000,
        appends: Math.round(30_000 * SCALE),
      });
    }
    if (only.has("archive")) {
      const { benchArchive } = await import("./archive-bench.js");
      await benchArchive(await createDatabase(adminUrl, "bench_archive"), join(dir, "archive", "home"));
    }
    if (only.has("kafka")) {
      const { benchKafka } = await import("./kafka-bench.js");
      await benchKafka(await createDatabase(adminUrl, "bench_kafka"), join(dir, "kafka"), report, SCALE);
    }
    if (only.has("keys")) {
      const { benchSigning } = await import("./signing-bench.js");
      await benchSigning();
    }
  } finally {
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
