import { randomBytes } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { createTestDatabase } from "../support/services.js";
import { captureLogger, registerSecret } from "../support/log-capture.js";

// The database password rotated under load, against the suite's real PostgreSQL. Its
// pg_hba.conf (scripts/services/postgres.ts: initdb --auth=scram-sha-256) checks passwords
// on loopback too; the first test proves it, so the rest cannot pass on a trust rule.

const WRITERS = 16;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let role: string;
let admin: pg.Client;
let core: AnnalCore | undefined;

const passwordFile = () => join(dir, "db-password");
const urlFor = (password?: string) => {
  const url = new URL(db.url);
  url.username = role;
  url.password = password === undefined ? "" : encodeURIComponent(password);
  return url.toString();
};

/** How Kubernetes updates a mounted secret: a new file renamed over the old one. */
async function writeSecretFile(value: string): Promise<void> {
  const tmp = join(dir, `.tmp-${randomBytes(4).toString("hex")}`);
  await writeFile(tmp, `${value}\n`, { mode: 0o600 });
  await rename(tmp, passwordFile());
}

async function backendPids(): Promise<Set<number>> {
  const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = $2", [role, db.name]);
  return new Set(rows.map((r) => r.pid));
}

async function canLogIn(password: string): Promise<true | string> {
  const client = new pg.Client({ connectionString: urlFor(password) });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "annal-rotate-"));
  role = `rot_${randomBytes(5).toString("hex")}`;
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  // A superuser so that migrations and the annal_app role work as with the suite's own login.
  await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${randomBytes(18).toString("hex")}'`);
});

afterAll(async () => {
  await core?.close();
  await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin?.end();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("database password rotation while 16 writers append", () => {
  it("the server checks passwords on this connection (no trust rule would make the rotation test vacuous)", async () => {
    const first = randomBytes(18).toString("hex");
    await admin.query(`ALTER ROLE ${role} PASSWORD '${first}'`);
    expect(await canLogIn(first)).toBe(true);
    expect(await canLogIn(`${first}-wrong`)).toBe("28P01"); // invalid_password
    const hba = await admin.query<{ type: string; auth_method: string; address: string | null }>("SELECT type, auth_method, address FROM pg_hba_file_rules WHERE type = 'host'");
    expect(hba.rows.length).toBeGreaterThan(0);
    expect(hba.rows.every((r) => r.auth_method !== "trust")).toBe(true);
  });

  it("given the password in a file, when it is rotated under load, no append fails, the old connections close and new ones use the new password", async () => {
    const oldPassword = randomBytes(18).toString("hex");
    const newPassword = randomBytes(18).toString("hex");
    registerSecret("rotation test: old database password", oldPassword);
    registerSecret("rotation test: new database password", newPassword);
    await admin.query(`ALTER ROLE ${role} PASSWORD '${oldPassword}'`);
    await writeSecretFile(oldPassword);
    const config = loadConfig({
      DATABASE_URL: urlFor(), // no password in the URL: it comes from the provider
      ANNAL_DB_PASSWORD: `file:${passwordFile()}`,
      ANNAL_SECRET_REFRESH_MS: "100",
      ANNAL_HOME: dir,
      ANNAL_LOG_LEVEL: "silent",
    });
    core = await openAnnal(config, captureLogger("db-password-rotation"));
    const ledger = core.ledger;

    let stop = false;
    let rotatedAt = Number.POSITIVE_INFINITY;
    const failures: unknown[] = [];
    let appended = 0;
    let appendedAfterRotation = 0;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          await ledger.append({ streamId: `writer-${w}`, events: [{ type: "Ticked", data: { w, i } }] });
          appended++;
          if (Date.now() > rotatedAt) appendedAfterRotation++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    try {
      // Warm: every pool has opened its connections with the old password.
      while (appended < 500) await new Promise((r) => setTimeout(r, 20));
      const before = await backendPids();
      expect(before.size).toBeGreaterThan(0);

      // The rotation as an operator does it: the database first, then the secret's source.
      await admin.query(`ALTER ROLE ${role} PASSWORD '${newPassword}'`);
      const alteredAt = (await admin.query<{ t: Date }>("SELECT clock_timestamp() AS t")).rows[0]!.t;
      await writeSecretFile(newPassword);
      rotatedAt = Date.now();

      // Every connection opened with the old password drains and closes (checked out: at
      // release; idle: at once), while the writers keep appending.
      let remaining = before;
      for (let i = 0; i < 200; i++) {
        remaining = new Set([...(await backendPids())].filter((pid) => before.has(pid)));
        if (remaining.size === 0 && appendedAfterRotation > 500) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([...remaining]).toEqual([]);
      const after = await backendPids();
      expect(after.size).toBeGreaterThan(0);
      // Every session open now started after ALTER ROLE, when only the new password is accepted.
      const started = await admin.query<{ pid: number; backend_start: Date }>("SELECT pid, backend_start FROM pg_stat_activity WHERE usename = $1 AND datname = $2", [role, db.name]);
      for (const row of started.rows) expect(row.backend_start.getTime()).toBeGreaterThan(alteredAt.getTime());
      expect(appendedAfterRotation).toBeGreaterThan(500);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(failures).toEqual([]);

    // The connections open now authenticated after the rotation, when only the new password works.
    expect(await canLogIn(oldPassword)).toBe("28P01");
    expect(await canLogIn(newPassword)).toBe(true);
    const fresh = await core.pool.query<{ ok: number }>("SELECT 1 AS ok");
    expect(fresh.rows[0]!.ok).toBe(1);

    // Gap-free: every acknowledged append is in the log, nothing else.
    const { rows } = await admin.query<{ n: string; max: string }>("SELECT count(*) AS n, max(position) AS max FROM annal.events");
    expect(Number(rows[0]!.n)).toBe(appended);
    expect(Number(rows[0]!.max)).toBe(appended);
  });
});
