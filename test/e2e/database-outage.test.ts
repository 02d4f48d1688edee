import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Registry } from "prom-client";
import { captureLogger, registerSecret } from "../support/log-capture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import { createApp, startServer } from "../../src/api/index.js";
import { createAuthOff } from "../../src/auth/index.js";
import { loadConfig } from "../../src/config.js";
import { startBlackholeProxy } from "../support/blackhole-proxy.js";
import { freePort, startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../../src/store/postgres/embedded.js";

// P0-007: a PostgreSQL that stops answering must not hang the API. Every PostgreSQL
// process is frozen (SIGSTOP: a stalled disk, a frozen VM), or the connection is
// blackholed by a TCP proxy of the test's own (a network partition), under 16 writers.
//
// The outage lasts OUTAGE_SECONDS (default 6, well past every timeout, so the steady state
// of fast refusals is reached); ANNAL_OUTAGE_SECONDS=60 runs the 60 s outage of the issue.
// This file starts its own embedded PostgreSQL: freezing the suite's shared server would
// stall every other test running beside it.
const OUTAGE_SECONDS = Number(process.env.ANNAL_OUTAGE_SECONDS ?? 6);
const WRITERS = 16;
/** The configured bound (ANNAL_REQUEST_TIMEOUT_MS default): every request is answered within it. */
const REQUEST_BOUND_MS = 5000;
const READY_BOUND_MS = 2000;
const RECOVERY_BOUND_MS = 1000;

interface Attempt {
  key: string;
  body: string;
  startedAt: number;
  ms: number;
  status: number;
  code?: string;
  retryAfter?: string | null;
  eventId?: string;
}

interface Outage {
  /** Freezes the database; resolves once it is frozen. */
  begin(): Promise<void>;
  end(): Promise<void>;
}

let home: string;
let database: EmbeddedPostgresHandle;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "annal-outage-"));
  database = await startEmbeddedPostgres(join(home, "pg"));
  registerSecret("database-outage: its embedded PostgreSQL password", decodeURIComponent(new URL(database.url).password));
}, 240_000);

afterAll(async () => {
  await database?.stop();
  await rm(home, { recursive: true, force: true });
});

describe.sequential("a PostgreSQL that stops answering", () => {
  it(`frozen with SIGSTOP for ${OUTAGE_SECONDS} s under ${WRITERS} writers: every request answered within ${REQUEST_BOUND_MS} ms, nothing lost or duplicated`, async () => {
    const dataDir = join(home, "pg", "data");
    await runScenario("sigstop", database.url, {
      begin: () => signalPostgres(dataDir, "SIGSTOP"),
      end: () => signalPostgres(dataDir, "SIGCONT"),
    });
  }, 300_000 + OUTAGE_SECONDS * 1000);

  it(`blackholed by a TCP proxy for ${OUTAGE_SECONDS} s under ${WRITERS} writers: the same`, async () => {
    const target = new URL(database.url);
    const proxy = await startBlackholeProxy(Number(target.port));
    try {
      const viaProxy = new URL(database.url);
      viaProxy.port = String(proxy.port);
      await runScenario("blackhole", viaProxy.toString(), { begin: () => Promise.resolve(proxy.hold("both")), end: () => Promise.resolve(proxy.restore()) });
    } finally {
      await proxy.close();
    }
  }, 300_000 + OUTAGE_SECONDS * 1000);

  it("the embedded server also listens on a Unix socket in a directory only its user enters, which localUrl connects through", async () => {
    const socketDir = join(home, "pg", "socket");
    expect((await stat(socketDir)).mode & 0o777).toBe(0o700);
    expect(database.localUrl).toBe(`${database.url}?host=${encodeURIComponent(socketDir)}`);
    for (const [url, transport] of [[database.localUrl, "unix"], [database.url, "127.0.0.1/32"]] as const) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // A session over a Unix socket has no client address.
        const { rows } = await client.query<{ via: string }>("SELECT coalesce(client_addr::text, 'unix') AS via FROM pg_stat_activity WHERE pid = pg_backend_pid()");
        expect(rows[0]!.via).toBe(transport);
      } finally {
        await client.end();
      }
    }
  });
});

async function runScenario(name: string, adminUrl: string, outage: Outage): Promise<void> {
  // A fresh database per scenario on the dedicated server.
  const dbName = `outage_${name}_${Date.now().toString(36)}`;
  await withClient(database.url, (c) => c.query(`CREATE DATABASE ${dbName}`));
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const annalHome = await mkdtemp(join(tmpdir(), "annal-outage-home-"));
  const config = loadConfig({ DATABASE_URL: url.toString(), ANNAL_HOME: annalHome, ANNAL_AUTH: "off", ANNAL_LOG_LEVEL: "silent" });
  const logger = captureLogger("database-outage");
  let core: AnnalCore | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    core = await openAnnal(config, logger);
    const app = createApp(
      { ledger: core.ledger, reader: core.reader, proofs: core.proofs, ready: core.ready, logger, metrics: new Registry(), access: createAuthOff() },
      { requestTimeoutMs: config.requestTimeoutMs },
    );
    expect(config.requestTimeoutMs).toBe(REQUEST_BOUND_MS);
    server = await startServer(app, { host: "127.0.0.1", port: await freePort() });
    const base = server.url;

    const attempts: Attempt[] = [];
    let counter = 0;
    let stopWriters = false;
    const writer = async (w: number): Promise<void> => {
      while (!stopWriters) {
        const key = `w${w}-${counter++}`;
        const attempt = await append(base, key, JSON.stringify({ events: [{ type: "Tick", data: { key } }] }));
        attempts.push(attempt);
        // A short pause after a refusal (a real client would honour Retry-After): enough to
        // keep 16 writers from spinning the shared test machine, plenty to show fast refusals.
        if (attempt.status !== 201) await sleep(100);
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    await sleep(1500);
    await outage.begin();
    const stoppedAt = Date.now();

    // Readiness while the database is gone: polled one after the other.
    const readiness: Array<{ startedAt: number; ms: number; status: number }> = [];
    const outageEnds = stoppedAt + OUTAGE_SECONDS * 1000;
    while (Date.now() < outageEnds) {
      const startedAt = Date.now();
      const status = await readyz(base);
      readiness.push({ startedAt, ms: Date.now() - startedAt, status });
      await sleep(100);
    }

    await outage.end();
    const resumedAt = Date.now();
    // The first append after the database is back: a fresh key, sent until it succeeds.
    let recoveredAt: number | undefined;
    for (let i = 0; recoveredAt === undefined && Date.now() - resumedAt < 30_000; i++) {
      const probe = await append(base, `recovery-${i}`, JSON.stringify({ events: [{ type: "Tick", data: { key: `recovery-${i}` } }] }));
      attempts.push(probe);
      if (probe.status === 201) recoveredAt = Date.now();
      else await sleep(20);
    }
    await sleep(2000);
    stopWriters = true;
    await Promise.all(writers);

    // Every request got an answer, within the bound, and only these answers.
    const slowest = Math.max(...attempts.map((a) => a.ms));
    const statuses = new Set(attempts.map((a) => a.status));
    const duringOutage = attempts.filter((a) => a.startedAt >= stoppedAt + 100 && a.startedAt + a.ms <= resumedAt);
    const unavailable = attempts.filter((a) => a.code === "ERR_UNAVAILABLE");
    const unknown = attempts.filter((a) => a.code === "ERR_OUTCOME_UNKNOWN");
    const firstNotReady = readiness.find((r) => r.status === 503);
    console.info(
      `[${name}] ${attempts.length} appends: ${attempts.filter((a) => a.status === 201).length} acked, ${unavailable.length} ERR_UNAVAILABLE, ${unknown.length} ERR_OUTCOME_UNKNOWN; ` +
        `slowest answer ${slowest} ms; /readyz 503 after ${firstNotReady ? firstNotReady.startedAt + firstNotReady.ms - stoppedAt : "never"} ms (slowest ${Math.max(...readiness.map((r) => r.ms))} ms); ` +
        `first append acked ${recoveredAt === undefined ? "never" : recoveredAt - resumedAt} ms after the database was back`,
    );
    expect(attempts.filter((a) => a.status === 0)).toEqual([]); // 0: no answer at all
    expect(slowest).toBeLessThanOrEqual(REQUEST_BOUND_MS);
    expect([...statuses].sort()).toEqual([201, 503]);
    expect(duringOutage.length).toBeGreaterThan(WRITERS);
    expect(new Set(duringOutage.map((a) => a.status))).toEqual(new Set([503]));
    for (const a of attempts.filter((x) => x.status === 503)) {
      expect(a.retryAfter).toMatch(/^[1-9][0-9]*$/);
      expect(["ERR_UNAVAILABLE", "ERR_OUTCOME_UNKNOWN"]).toContain(a.code);
    }
    // Refused fast once the gate is closed: most outage answers come long before the bound.
    expect(duringOutage.filter((a) => a.ms < 1000).length).toBeGreaterThan(duringOutage.length / 2);

    expect(firstNotReady).toBeDefined();
    expect(firstNotReady!.startedAt + firstNotReady!.ms - stoppedAt).toBeLessThanOrEqual(READY_BOUND_MS);
    expect(Math.max(...readiness.map((r) => r.ms))).toBeLessThanOrEqual(READY_BOUND_MS);
    expect(readiness.filter((r) => r.startedAt >= stoppedAt + READY_BOUND_MS).every((r) => r.status === 503)).toBe(true);
    expect(recoveredAt).toBeDefined();
    expect(recoveredAt! - resumedAt).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    expect(await readyz(base)).toBe(200);

    // ERR_UNAVAILABLE promised that nothing was written: checked before any retry.
    const rows = await countByKey(url.toString());
    expect(unavailable.filter((a) => (rows.get(a.key) ?? 0) !== 0).map((a) => a.key)).toEqual([]);

    // Every acknowledged event is present once.
    for (const a of attempts.filter((x) => x.status === 201)) expect([a.key, rows.get(a.key)]).toEqual([a.key, 1]);
    const ackedIds = attempts.flatMap((a) => (a.eventId === undefined ? [] : [a.eventId]));
    const idCounts = await withClient(url.toString(), (c) =>
      c.query<{ event_id: string; n: string }>("SELECT event_id::text AS event_id, count(*) AS n FROM annal.events WHERE event_id = ANY($1::uuid[]) GROUP BY 1", [ackedIds]),
    );
    expect(idCounts.rows.length).toBe(ackedIds.length);
    expect(idCounts.rows.every((r) => r.n === "1")).toBe(true);

    // Every refused key, retried with the same Idempotency-Key, resolves exactly once.
    const refused = [...unavailable, ...unknown];
    const retryLane = async (): Promise<void> => {
      for (let a = refused.pop(); a !== undefined; a = refused.pop()) {
        let retry = await append(base, a.key, a.body);
        for (let i = 0; retry.status !== 201 && i < 50; i++) {
          await sleep(200);
          retry = await append(base, a.key, a.body);
        }
        expect([a.key, retry.status]).toEqual([a.key, 201]);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, retryLane));
    const after = await countByKey(url.toString());
    const keys = new Set(attempts.map((a) => a.key));
    expect([...keys].filter((k) => after.get(k) !== 1)).toEqual([]);
    expect(after.size).toBe(keys.size);
  } finally {
    await server?.close();
    await core?.close();
    await rm(annalHome, { recursive: true, force: true });
    await withClient(database.url, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
  }
}

async function append(base: string, key: string, body: string): Promise<Attempt> {
  const startedAt = Date.now();
  try {
    const response = await fetch(`${base}/streams/outage-${key.split("-")[0]}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body,
      // Far past the bound: a request that needs it has hung, and is recorded as status 0.
      signal: AbortSignal.timeout(30_000),
    });
    const json = (await response.json()) as { code?: string; events?: Array<{ eventId: string }> };
    const attempt: Attempt = { key, body, startedAt, ms: Date.now() - startedAt, status: response.status, retryAfter: response.headers.get("retry-after") };
    if (json.code !== undefined) attempt.code = json.code;
    const eventId = json.events?.[0]?.eventId;
    if (response.status === 201 && eventId !== undefined) attempt.eventId = eventId;
    return attempt;
  } catch {
    return { key, body, startedAt, ms: Date.now() - startedAt, status: 0 };
  }
}

/**
 * GET /readyz. A GET is safe to repeat, so one retry covers the client's keep-alive race
 * (a pooled connection the server closed as idle just as it was reused: ECONNRESET).
 */
async function readyz(base: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(30_000) });
      await response.arrayBuffer();
      return response.status;
    } catch (error) {
      if (attempt > 0 || (error as { cause?: { code?: string } }).cause?.code !== "ECONNRESET") throw error;
    }
  }
}

async function countByKey(url: string): Promise<Map<string, number>> {
  const { rows } = await withClient(url, (c) => c.query<{ key: string; n: string }>("SELECT data::jsonb->>'key' AS key, count(*) AS n FROM annal.payloads GROUP BY 1"));
  return new Map(rows.map((r) => [r.key, Number(r.n)]));
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The postmaster (from postmaster.pid) and every process it started, frozen or thawed. */
async function signalPostgres(dataDir: string, signal: "SIGSTOP" | "SIGCONT"): Promise<void> {
  const postmaster = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === postmaster) children.push(Number(entry));
  }
  expect(children.length).toBeGreaterThan(3);
  // Stop the parent first (it cannot start new children), thaw it last.
  const order = signal === "SIGSTOP" ? [postmaster, ...children] : [...children, postmaster];
  for (const pid of order) process.kill(pid, signal);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
