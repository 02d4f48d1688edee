// Paired A/B runs of workload (c) for deciding between designs on a shared machine: the
// server is started with A's settings, then B's, in turn, ROUNDS times, against one
// embedded PostgreSQL; each pair gives ratios (B / A) of throughput and CPU per append,
// which stay meaningful while the machine's speed drifts. Not a test; prints figures.
//
//   AB_A='ANNAL_PROJECTIONS=all' AB_B='ANNAL_PROJECTIONS=none' AB_ROUNDS=3 AB_SECONDS=8 \
//     node --import tsx scripts/bench/append-ab.ts
// AB_RUNTIME_A / AB_RUNTIME_B=bun run that side's server under Bun; AB_ARGS_A / AB_ARGS_B are
// the runtime's own arguments (e.g. --cpu-prof); AB_ROOT_A / AB_ROOT_B another checkout
// (with node_modules) whose server that side runs, for before/after code; AB_CONNECTIONS (64).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/store/postgres/embedded.js";
import { pathToFileURL } from "node:url";
import { payload } from "./fill-log.js";
import { parentPid, postgresCpuSeconds, processCpuSeconds } from "./proc-cpu.js";

const parseEnv = (raw: string | undefined) => Object.fromEntries((raw ?? "").split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
const sides = [
  { name: "A", env: parseEnv(process.env.AB_A), runtime: (process.env.AB_RUNTIME_A ?? "node") as "node" | "bun", args: (process.env.AB_ARGS_A ?? "").split(" ").filter(Boolean), root: process.env.AB_ROOT_A },
  { name: "B", env: parseEnv(process.env.AB_B), runtime: (process.env.AB_RUNTIME_B ?? "node") as "node" | "bun", args: (process.env.AB_ARGS_B ?? "").split(" ").filter(Boolean), root: process.env.AB_ROOT_B },
];
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const seconds = Number(process.env.AB_SECONDS ?? 8);
const connections = Number(process.env.AB_CONNECTIONS ?? 64);

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  cpuMs: number;
  serverMs: number;
  batch: number;
}

const dir = await mkdtemp(join(tmpdir(), "annal-ab-"));
const embedded = await startEmbeddedPostgres(join(dir, "postgres"));
try {
  const admin = new pg.Client({ connectionString: embedded.localUrl });
  await admin.connect();
  await admin.query("CREATE DATABASE ab");
  const { rows } = await admin.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const postmaster = parentPid(rows[0]!.pid)!;
  await admin.end();
  const url = new URL(embedded.localUrl);
  url.pathname = "/ab";
  const body = JSON.stringify({ events: [{ type: "OrderPlaced", data: payload(1) }] });
  const results: Record<string, Run[]> = { A: [], B: [] };
  for (let round = 0; round < rounds; round++) {
    for (const side of sides) {
      // Each side's own checkout (AB_ROOT_A / AB_ROOT_B, default this one) starts its server.
      const { startServerProcess } = (await import(pathToFileURL(`${side.root ?? new URL("../..", import.meta.url).pathname}/test/support/processes.ts`).href)) as typeof import("../../test/support/processes.js");
      const server = await startServerProcess({ DATABASE_URL: url.toString(), ANNAL_HOME: join(dir, "home"), ANNAL_AUTH: "off", ANNAL_LOG_LEVEL: "warn", ANNAL_ACCESS_LOG: "0", ...side.env }, side.runtime, side.args);
      try {
        let n = 0;
        const load = (duration: number) =>
          autocannon({ url: server.url, connections, duration, requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (r) => ({ ...r, path: `/streams/h-${n++ % 1000}/events`, body }) }] });
        await load(2);
        const batches = async () => {
          const text = await (await fetch(`${server.url}/metrics`)).text();
          const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
          return { sum: read("annal_commit_batch_events_sum"), count: read("annal_commit_batch_events_count") };
        };
        const b0 = await batches();
        const s0 = processCpuSeconds(server.process.pid!);
        const p0 = postgresCpuSeconds(postmaster);
        const r = await load(seconds);
        const s1 = processCpuSeconds(server.process.pid!);
        const p1 = postgresCpuSeconds(postmaster);
        const b1 = await batches();
        const ok = r["2xx"];
        const run = { perSecond: ok / r.duration, p50: r.latency.p50, p99: r.latency.p99, cpuMs: ((s1 - s0 + p1 - p0) * 1000) / ok, serverMs: ((s1 - s0) * 1000) / ok, batch: (b1.sum - b0.sum) / (b1.count - b0.count) };
        results[side.name]!.push(run);
        console.log(
          `round ${round + 1} ${side.name}: ${run.perSecond.toFixed(0).padStart(6)} ev/s  p50 ${run.p50} ms  p99 ${run.p99} ms  CPU/append ${run.cpuMs.toFixed(3)} ms (server ${run.serverMs.toFixed(3)})  events/batch ${run.batch.toFixed(1)}${r.non2xx + r.errors > 0 ? `  ! ${r.non2xx} non-2xx ${r.errors} errors` : ""}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratios = (f: (r: Run) => number) => median(results.B!.map((b, i) => f(b) / f(results.A![i]!)));
  console.log(`median B/A over ${rounds} pairs: throughput ${ratios((r) => r.perSecond).toFixed(2)}x, p99 ${ratios((r) => r.p99).toFixed(2)}x, CPU per append ${ratios((r) => r.cpuMs).toFixed(2)}x`);
} finally {
  await embedded.stop();
  await rm(dir, { recursive: true, force: true });
}
