import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseSource, parsePinnedKey } from "../../src/cli/event-sources.js";
import { fsck } from "../../src/cli/fsck.js";
import { verifyLog } from "../../src/cli/verify.js";
import type { PublicKeyInfo } from "../../src/ledger/types.js";
import { parseTrustedKey, type TrustedKey } from "../../src/verify/index.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// The state Annal derives from the log and serves from, which no signature covers: a
// corrupted stored subtree, chain head, stream head or checkpoint row is named by
// `annal fsck` (first bad row), and a proof built from it is refused with
// ERR_STORE_CORRUPT and counted, never served. Pinned keys pin checkpoints too.

const run = promisify(execFile);
let t: TestHttpAnnal;
let admin: pg.Client;
let verifierKey: string;
let key: TrustedKey;
const sizes: number[] = [];

/**
 * Commits `change` with triggers off (as the superuser), runs `check`, then puts every
 * derived table back from the snapshot taken before the tests.
 */
async function tampered(change: string, check: () => Promise<void>): Promise<void> {
  await admin.query("BEGIN");
  await admin.query("SET LOCAL session_replication_role = replica");
  await admin.query(change);
  await admin.query("COMMIT");
  try {
    await check();
  } finally {
    await restore();
  }
}

beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
  for (const count of [10, 7, 9, 14]) {
    const response = await fetch(`${t.url}/streams/${randomName("derived")}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: Array.from({ length: count }, (_, i) => ({ type: "ThingHappened", data: { i } })) }),
    });
    expect(response.status).toBe(201);
    sizes.push(((await response.json()) as { checkpoint: { treeSize: number } }).checkpoint.treeSize);
  }
  verifierKey = ((await (await fetch(`${t.url}/keys`)).json()) as { keys: PublicKeyInfo[] }).keys[0]!.noteVerifierKey;
  key = parseTrustedKey(verifierKey) as TrustedKey;
  admin = new pg.Client({ connectionString: t.annal.adminUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await t?.close();
});

async function check(): ReturnType<typeof fsck> {
  const pool = new pg.Pool({ connectionString: t.annal.adminUrl, max: 1 });
  try {
    return await fsck(pool, [key]);
  } finally {
    await pool.end();
  }
}

describe("annal fsck", () => {
  it("passes on an untouched ledger, from the CLI too", async () => {
    expect(await check()).toEqual({ ok: true, events: 40, nodes: 2, checkpoints: 4, streams: 4 });
    const cli = await run(process.execPath, ["bin/annal.js", "fsck", "--database-url", t.annal.adminUrl, "--public-key", verifierKey]);
    expect(cli.stdout).toMatch(/^OK: 40 events, 2 stored subtrees, 4 checkpoints, 4 streams/);
  });

  it("names a corrupted stored subtree; the receipt that needs it is refused as ERR_STORE_CORRUPT and counted", async () => {
    await tampered("UPDATE annal.merkle_nodes SET hash = sha256(hash) WHERE level = 4 AND index = 0", async () => {
        expect(await check()).toEqual({ ok: false, table: "annal.merkle_nodes", row: "level=4, index=0", reason: expect.stringContaining("differs") });
        const cli = await run(process.execPath, ["bin/annal.js", "fsck", "--database-url", t.annal.adminUrl]).catch((error: { code: number; stderr: string }) => error);
        expect(cli).toMatchObject({ code: 1, stderr: expect.stringContaining("annal.merkle_nodes (level=4, index=0)") });
        const receipt = await fetch(`${t.url}/events/20/receipt`);
        expect(receipt.status).toBe(500);
        expect(await receipt.json()).toMatchObject({ code: "ERR_STORE_CORRUPT", type: "https://annal.dev/problems/store-corrupt", title: "Stored state is corrupt" });
        expect((await fetch(`${t.url}/proofs/inclusion?position=30`)).status).toBe(500);
        expect((await fetch(`${t.url}/proofs/consistency?from=${sizes[1]}&to=${sizes[3]}`)).status).toBe(500);
        // A proof that does not touch the corrupted node is still served.
        expect((await fetch(`${t.url}/proofs/inclusion?position=3&treeSize=${sizes[0]}`)).status).toBe(200);
        expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/^annal_store_corrupt_total 3$/m);
    });
    expect(await check()).toMatchObject({ ok: true });
  });

  it.each([
    ["the chain head's frontier", "UPDATE annal.chain_head SET frontier = sha256(frontier) || '' WHERE id = 1", "annal.chain_head", "id=1"],
    ["the chain head's hash", "UPDATE annal.chain_head SET hash = sha256(hash) WHERE id = 1", "annal.chain_head", "id=1"],
    ["a stream head", "UPDATE annal.streams SET last_hash = sha256(last_hash) WHERE stream_id = (SELECT min(stream_id) FROM annal.streams)", "annal.streams", "stream_id="],
    ["a checkpoint's root column", `UPDATE annal.checkpoints SET root_hash = sha256(root_hash) WHERE tree_size = ${17}`, "annal.checkpoints", "tree_size=17"],
    ["a checkpoint's chain_head column", `UPDATE annal.checkpoints SET chain_head = sha256(chain_head) WHERE tree_size = ${26}`, "annal.checkpoints", "tree_size=26"],
    ["a payload deleted without a redaction record", "DELETE FROM annal.payloads WHERE position = 12", "annal.payloads", "position=12"],
  ])("names %s", async (_name, change, table, row) => {
    await tampered(change, async () => {
      expect(await check()).toMatchObject({ ok: false, table, row: expect.stringContaining(row) });
    });
    expect(await check()).toMatchObject({ ok: true });
  });

  it("names a checkpoint whose note's size line was raised as a bad checkpoint, not as missing events", async () => {
    await tampered(`UPDATE annal.checkpoints SET note = regexp_replace(note, E'\\n${sizes[1]}\\n', E'\\n${sizes[1]! + 1}\\n') WHERE tree_size = ${sizes[1]}`, async () => {
        expect(await check()).toMatchObject({ ok: false, table: "annal.checkpoints", row: `tree_size=${sizes[1]}` });
        const source = createDatabaseSource(t.annal.adminUrl);
        try {
          const report = await verifyLog(source, { pinnedKeys: [parsePinnedKey(verifierKey)], workers: 0 });
          expect(report).toMatchObject({ ok: false, position: sizes[1], reason: expect.stringContaining(`checkpoint at tree size ${sizes[1]}`) });
        } finally {
          await source.close();
        }
      },
    );
  });

  it("pinned keys pin the checkpoint key too: a replaced annal.signing_keys row changes nothing", async () => {
    await tampered("UPDATE annal.signing_keys SET public_key = sha256(public_key)", async () => {
        const source = createDatabaseSource(t.annal.adminUrl);
        try {
          expect(await verifyLog(source, { pinnedKeys: [parsePinnedKey(verifierKey)], workers: 0 })).toMatchObject({ ok: true, events: 40, checkpoints: 4 });
        } finally {
          await source.close();
        }
        expect(await check()).toMatchObject({ ok: true });
    });
  });
});

// A snapshot of every table a case changes, taken before the first case; restore() puts it back.
const TABLES = ["annal.chain_head", "annal.streams", "annal.checkpoints", "annal.merkle_nodes", "annal.signing_keys", "annal.payloads"];
let saved: Record<string, unknown[]> = {};
beforeAll(async () => {
  saved = {};
  for (const table of TABLES) saved[table] = (await admin.query<{ rows: unknown[] | null }>(`SELECT json_agg(t) AS rows FROM ${table} t`)).rows[0]!.rows ?? [];
});

async function restore(): Promise<void> {
  await admin.query("BEGIN");
  await admin.query("SET LOCAL session_replication_role = replica");
  for (const table of TABLES) {
    await admin.query(`DELETE FROM ${table}`);
    await admin.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1)`, [JSON.stringify(saved[table])]);
  }
  await admin.query("COMMIT");
}
