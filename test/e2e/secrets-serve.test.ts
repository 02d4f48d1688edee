import { randomBytes } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerSecret } from "../support/log-capture.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createTestDatabase } from "../support/services.js";

// `annal serve` as deployed: the database password in a private file (not in DATABASE_URL),
// rotated with ALTER ROLE and a new file, picked up on SIGHUP without a restart. Its whole
// log (trace level) is scanned for both passwords by the suite's teardown.

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let admin: pg.Client;
let server: ServerProcess | undefined;
const role = `srv_${randomBytes(5).toString("hex")}`;
const first = randomBytes(18).toString("base64url");
const second = randomBytes(18).toString("base64url");

async function writeSecret(value: string): Promise<void> {
  await writeFile(join(dir, ".next"), `${value}\n`, { mode: 0o600 });
  await rename(join(dir, ".next"), join(dir, "db-password"));
}

/**
 * Pooled sessions only: the dedicated ones (LISTEN, follower leases: application_name
 * annal-follower) are never released, so they keep their session (PostgreSQL checks a
 * password only at session start) and use the new password when they reconnect.
 */
async function backendPids(): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = $2 AND application_name <> 'annal-follower'", [role, db.name]);
  return rows.map((r) => r.pid);
}

beforeAll(async () => {
  registerSecret("secrets-serve: first database password", first);
  registerSecret("secrets-serve: second database password", second);
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "annal-secrets-serve-"));
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${first}'`);
  await writeSecret(first);
  const url = new URL(db.url);
  url.username = role;
  url.password = "";
  server = await startServerProcess({
    ANNAL_AUTH: "off",
    ANNAL_HOME: join(dir, "home"),
    DATABASE_URL: url.toString(),
    ANNAL_DB_PASSWORD: `file:${join(dir, "db-password")}`,
    // Only SIGHUP (or a new connection) re-reads the file in this test.
    ANNAL_SECRET_REFRESH_MS: "3600000",
    ANNAL_PROJECTIONS: "none",
    ANNAL_ARCHIVE: "off",
  });
});

afterAll(async () => {
  await server?.stop();
  await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin?.end();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const append = (n: number) =>
  fetch(`${server!.url}/streams/secrets-${n}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "Noted", data: { n } }] }) });

describe("annal serve with its database password from a file", () => {
  it("shows where each secret comes from in /admin/config, never a value", async () => {
    expect((await append(1)).status).toBe(201);
    const text = await (await fetch(`${server!.url}/admin/config`)).text();
    expect(JSON.parse(text).config.secrets.databasePassword).toBe(`file:${join(dir, "db-password")}`);
    expect(text).not.toContain(first);
  });

  it("rotates on SIGHUP: the old sessions close, appends go on with the new password, no restart", async () => {
    const before = await backendPids();
    expect(before.length).toBeGreaterThan(0);
    await admin.query(`ALTER ROLE ${role} PASSWORD '${second}'`);
    await writeSecret(second);
    server!.process.kill("SIGHUP");
    for (let i = 0; i < 100 && !server!.output().includes("SIGHUP: credentials re-read"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(server!.output()).toMatch(/"changed":\["ANNAL_DB_PASSWORD"\].*SIGHUP: credentials re-read/);
    expect(server!.output()).toContain("secret rotated: new connections use the new value");
    for (let n = 2; n < 12; n++) expect((await append(n)).status).toBe(201);
    let stale = before;
    for (let i = 0; i < 100; i++) {
      const now = await backendPids();
      stale = before.filter((pid) => now.includes(pid));
      if (stale.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stale).toEqual([]);
    expect((await backendPids()).length).toBeGreaterThan(0);
    expect(server!.process.exitCode).toBeNull();
    const text = await (await fetch(`${server!.url}/admin/config`)).text();
    expect(text).not.toContain(second);
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toContain("annal_events_appended_total");
    for (const secret of [first, second]) expect(metrics).not.toContain(secret);
  });
});
