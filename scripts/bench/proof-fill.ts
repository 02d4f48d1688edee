// Fills one log for the proof bench and keeps it: `node --import tsx scripts/bench/proof-fill.ts`
// with DATABASE_URL (a database that is created if missing, and must hold an empty log),
// ANNAL_HOME (where the signing key is kept, so the log can be appended to later) and
// BENCH_PROOF_EVENTS. Then `BENCH_PROOF_DATABASE_URL=<url> BENCH_ONLY=proofs npm run bench`.
import pg from "pg";
import { pino } from "pino";
import { openAnnal } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { bulkFillLog } from "./bulk-fill.js";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL names the database to fill");
const events = Number(process.env.BENCH_PROOF_EVENTS ?? 10_000_000);
const admin = new URL(url);
const name = admin.pathname.slice(1);
admin.pathname = "/postgres";
const client = new pg.Client({ connectionString: admin.toString() });
await client.connect();
const { rows } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
if (rows.length === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
await client.end();

// A 10,000-event batch is one statement: on a loaded machine it can take longer than the
// service's 3 s statement timeout, which ended a fill at 5.67M events.
const config = loadConfig({
  ...process.env,
  DATABASE_URL: url,
  ANNAL_LOG_LEVEL: "silent",
  ANNAL_AUTH: "off",
  ANNAL_ARCHIVE: "off",
  ANNAL_SIGN_WORKERS: process.env.ANNAL_SIGN_WORKERS ?? "2",
  ANNAL_DB_STATEMENT_TIMEOUT_MS: process.env.ANNAL_DB_STATEMENT_TIMEOUT_MS ?? "300000",
  ANNAL_REQUEST_TIMEOUT_MS: process.env.ANNAL_REQUEST_TIMEOUT_MS ?? "400000",
});
const annal = await openAnnal(config, pino({ level: "silent" }));
try {
  // BENCH_PROOF_RESUME=1: carry on a fill that stopped, up to BENCH_PROOF_EVENTS.
  const { seconds, written } = await bulkFillLog(annal, { events, origin: config.origin, label: "proofs", resume: process.env.BENCH_PROOF_RESUME === "1" });
  console.log(`proof-fill: ${written} events written in ${seconds.toFixed(1)} s (${Math.round(written / seconds)} events/s, bulkFillLog), log of ${events}`);
} finally {
  await annal.close();
}
