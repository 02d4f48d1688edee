// Paired before/after of GET /proofs/inclusion: one server per checkout (PROOF_AB_ROOTS,
// "name=/path,name=/path", optionally "name=/path=<node flags>"), all on the same log (DATABASE_URL, ANNAL_HOME of its fill),
// measured in alternating blocks of sequential requests from this process. Reports p50/p99
// per server and client (fetch, and node:http with a keep-alive agent), and CPU per
// request of each server (/proc). Not a test: it prints figures.
//
//   PROOF_AB_ROOTS=before=/tmp/base,after=$PWD DATABASE_URL=... ANNAL_HOME=... \
//     node --import tsx scripts/bench/proof-ab.ts
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { createServer } from "node:net";
import pg from "pg";
import { parentPid, postgresCpuSeconds, processCpuSeconds } from "./proc-cpu.js";
import { percentile } from "./stats.js";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function startServer(root: string, nodeArgs: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = `${process.env.PROOF_AB_NODE_ARGS ?? ""} ${nodeArgs}`.split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...args, `${root}/bin/annal.js`, "serve"], {
    cwd: root,
    env: { ...process.env, ANNAL_PORT: String(port), ANNAL_LOG_LEVEL: "warn", ANNAL_AUTH: "off", ANNAL_ARCHIVE: "off" },
    stdio: ["ignore", process.env.PROOF_AB_SERVER_OUTPUT === "1" ? "inherit" : "ignore", "ignore"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { url, child };
    if (i > 300) throw new Error(`server in ${root} not ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const clients = {
  http: (url: string) =>
    new Promise<void>((resolve, reject) => {
      http.get(url, { agent }, (res) => {
        res.on("data", () => undefined);
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        res.on("error", reject);
      }).on("error", reject);
    }),
  fetch: async (url: string) => {
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`status ${r.status}`);
  },
};

// name=checkout[=node flags, space-separated], e.g. "gc64=/repo=--max-semi-space-size=64" keeps the text after the second '='.
const roots = (process.env.PROOF_AB_ROOTS ?? `current=${process.cwd()}`).split(",").map((x) => {
  const [name, root, ...flags] = x.split("=");
  return [name!, root!, flags.join("=")] as const;
});
const clientNames = (process.env.PROOF_AB_CLIENTS ?? "http,fetch").split(",") as Array<keyof typeof clients>;
const rounds = Number(process.env.PROOF_AB_ROUNDS ?? 4);
const block = Number(process.env.PROOF_AB_BLOCK ?? 500);
// PostgreSQL's CPU too (the postmaster of this database's server and all its backends):
// meaningful when nothing else uses that server during the run.
const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
await admin.connect();
const postmaster = parentPid((await admin.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid);
await admin.end();
const pgCpu = () => (postmaster === undefined ? NaN : postgresCpuSeconds(postmaster));
const servers = [];
for (const [name, root, flags] of roots) servers.push({ name, ...(await startServer(root, flags)) });
try {
  const size = Number(((await (await fetch(`${servers[0]!.url}/checkpoints/latest`)).json()) as { treeSize: number }).treeSize);
  const results = new Map<string, { lat: number[]; cpu: number; pg: number; n: number }>();
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      for (const c of clientNames) {
        const key = `${s.name} / ${c}`;
        const res = results.get(key) ?? { lat: [], cpu: 0, pg: 0, n: 0 };
        results.set(key, res);
        const get = clients[c];
        for (let i = 0; i < 50; i++) await get(`${s.url}/proofs/inclusion?position=${1 + Math.floor(Math.random() * size)}`);
        const cpu0 = processCpuSeconds(s.child.pid!);
        const pg0 = pgCpu();
        for (let i = 0; i < block; i++) {
          const url = `${s.url}/proofs/inclusion?position=${1 + Math.floor(Math.random() * size)}`;
          const t0 = performance.now();
          await get(url);
          res.lat.push(performance.now() - t0);
        }
        res.cpu += processCpuSeconds(s.child.pid!) - cpu0;
        res.pg += pgCpu() - pg0;
        res.n += block;
      }
    }
  }
  for (const [key, res] of results) {
    const xs = res.lat.sort((a, b) => a - b);
    console.log(`proof-ab: ${key.padEnd(22)} p50 ${percentile(xs, 50).toFixed(2)} ms  p90 ${percentile(xs, 90).toFixed(2)}  p99 ${percentile(xs, 99).toFixed(2)}  CPU per request: server ${((res.cpu * 1000) / res.n).toFixed(3)} ms, PostgreSQL ${((res.pg * 1000) / res.n).toFixed(3)} ms  (${res.n} requests, log of ${size})`);
  }
} finally {
  for (const s of servers) s.child.kill("SIGTERM");
}
