import pg from "pg";
import { pino } from "pino";
import { readFileSync, readdirSync } from "node:fs";
import { openAnnal } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { payload } from "./fill-log.js";
const admin = readFileSync("/work/prof/pg.url", "utf8").trim();
const c = new pg.Client(admin); await c.connect(); await c.query("DROP DATABASE IF EXISTS tmplib WITH (FORCE)"); await c.query("CREATE DATABASE tmplib"); await c.end();
const url = admin.replace(/\/postgres$/, "/tmplib");
const annal = await openAnnal(loadConfig({ DATABASE_URL: url, ANNAL_HOME: "/tmp/tmplib-home", ANNAL_LOG_LEVEL: "silent" }), pino({ level: "silent" }));
const pm = Number(readFileSync("/work/prof/pgdata/data/postmaster.pid", "utf8").split("\n")[0]);
const ticks = (pid: number, kids: boolean) => { try { const st = readFileSync(`/proc/${pid}/stat`, "utf8"); const f = st.slice(st.lastIndexOf(")") + 2).split(" "); return { ppid: +f[1]!, t: +f[11]! + +f[12]! + (kids ? +f[13]! + +f[14]! : 0) }; } catch { return { ppid: 0, t: 0 }; } };
const pgt = () => { let t = ticks(pm, true).t; for (const d of readdirSync("/proc")) if (/^\d+$/.test(d)) { const s = ticks(+d, true); if (s.ppid === pm) t += s.t; } return t; };
async function run(n: number) { let next = 0; await Promise.all(Array.from({ length: 64 }, async (_, w) => { while (next < n) { const i = next++; await annal.ledger.append({ streamId: `a-${w}`, events: [{ type: "OrderPlaced", data: payload(i) }] }); } })); }
await run(3000);
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) {
  const n = 20000; const c0 = process.cpuUsage(); const p0 = pgt(); const t0 = performance.now();
  await run(n);
  const s = (performance.now() - t0) / 1000; const cu = process.cpuUsage(c0); const p1 = pgt();
  console.log(`${(n / s).toFixed(0)} appends/s, CPU per append: process ${((cu.user + cu.system) / 1000 / n).toFixed(3)} ms, pg ${(((p1 - p0) * 10) / n).toFixed(3)} ms  stats ${JSON.stringify(annal.ledger.stats)}`);
}
await annal.close();
