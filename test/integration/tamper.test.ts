import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { runCli } from "../support/processes.js";
import { eventHashInput, headerOf, sha256 } from "../../src/core/index.js";
import { createDatabaseSource } from "../../src/cli/event-sources.js";
import { verifyLog, type VerifyOptions } from "../../src/cli/verify.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { createPostgresReader } from "../../src/store/postgres/reader.js";

let t: TestAnnal;
let admin: pg.Client;

beforeEach(async () => {
  t = await startTestAnnal();
  for (let i = 0; i < 10; i++) {
    await t.ledger.append({ streamId: `acct-${i % 3}`, events: [{ type: "Deposited", data: { amount: i, memo: "ünïcödé" } }, { type: "Noted", data: [i] }] });
  }
  admin = new pg.Client({ connectionString: t.adminUrl });
  await admin.connect();
  // As a superuser with the insert-only triggers off: what an attacker with DBA rights could do.
  await admin.query("SET session_replication_role = replica");
});
afterEach(async () => {
  await admin?.end();
  await t?.close();
});

async function verify() {
  return runCli(["verify", "--database-url", t.adminUrl, "--no-progress"]);
}

// Each row: what an attacker with DBA rights does, and the failure verify must report.
const tampering: Array<[string, () => Promise<unknown>, RegExp]> = [
  ["one event's data changed", () => admin.query(`UPDATE annal.payloads SET data = '{"amount":1000000,"memo":"ünïcödé"}' WHERE position = 7`), /FAILED at position 7: data does not match dataHash/],
  ["one event's metadata changed", () => admin.query(`UPDATE annal.events SET metadata = '{"actor":"mallory"}' WHERE position = 4`), /FAILED at position 4: event hash does not match/],
  [
    // The stored bytes are what was hashed: another spelling of the same JSON value fails.
    "stored data rewritten to other bytes of the same JSON value",
    async () => {
      const { rows } = await admin.query<{ data: string }>("SELECT data FROM annal.payloads WHERE position = 3");
      await admin.query("UPDATE annal.payloads SET data = $1 WHERE position = 3", [` ${rows[0]!.data}`]);
    },
    /FAILED at position 3: data does not match dataHash/,
  ],
  ["one event's header changed", () => admin.query(`UPDATE annal.events SET type = 'Withdrawn' WHERE position = 12`), /FAILED at position 12: event hash does not match/],
  ["a hash changed", () => admin.query(`UPDATE annal.events SET hash = sha256(hash) WHERE position = 5`), /FAILED at position 5:/],
  [
    "a row deleted",
    async () => {
      await admin.query(`DELETE FROM annal.payloads WHERE position = 9`);
      await admin.query(`DELETE FROM annal.events WHERE position = 9`);
    },
    /FAILED at position 9: position 9 is missing/,
  ],
  [
    // A checkpoint covers the last event, so a shorter log is not a valid one.
    "the last row deleted",
    async () => {
      await admin.query(`DELETE FROM annal.payloads WHERE position = 20`);
      await admin.query(`DELETE FROM annal.events WHERE position = 20`);
    },
    /FAILED at position 20: log ends at 19, expected 20 events/,
  ],
  ["a signature replaced", () => admin.query(`UPDATE annal.events SET signature = decode(repeat('ab', 64), 'hex') WHERE position = 3`), /FAILED at position 3: signature does not verify/],
];

describe("tampering with the stored log is detected by annal verify", () => {
  it("given an untouched log, verify passes", async () => {
    const result = await verify();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("OK: 20 events and 10 checkpoints");
  });


  it("given the newest checkpoint deleted, --fast refuses the events no signed checkpoint covers; the full check, which verifies every event signature, passes", async () => {
    await admin.query("DELETE FROM annal.checkpoints WHERE tree_size = (SELECT max(tree_size) FROM annal.checkpoints)");
    const fast = await runCli(["verify", "--database-url", t.adminUrl, "--no-progress", "--fast"]);
    expect(fast.code).toBe(1);
    expect(fast.stderr).toMatch(/FAILED at position 19: no verified checkpoint covers events 19\.\.20/);
    const full = await verify();
    expect(full.code).toBe(0);
  });

  it.each(tampering)("given %s, verify exits 1 naming that position", async (_name, tamper, failure) => {
    await tamper();
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(failure);
  });
});

/** verifyLog over the database, as `annal verify` runs it. */
async function verifyWith(options: VerifyOptions) {
  const source = createDatabaseSource(t.adminUrl);
  try {
    return await verifyLog(source, { progress: false, ...options });
  } finally {
    await source.close();
  }
}

/**
 * Rewrites one stored event and recomputes its hash over the rewritten header, as an
 * attacker would to keep the event self-consistent: only a link can then show it.
 */
async function rewriteEvent(position: number, change: { prevHash?: Buffer; streamPrevHash?: Buffer; streamVersion?: number }) {
  const pool = createPool({ connectionString: t.adminUrl, max: 1 });
  try {
    const { record, stored } = (await createPostgresReader(pool).readAfter(position - 1, 1))[0]!;
    if (change.prevHash) record.prevHash = change.prevHash.toString("base64");
    if (change.streamPrevHash) record.streamPrevHash = change.streamPrevHash.toString("base64");
    if (change.streamVersion) record.streamVersion = change.streamVersion;
    const hash = Buffer.from(sha256(...eventHashInput(headerOf(record), stored.metadata)));
    await admin.query("UPDATE annal.events SET prev_hash = $2, stream_prev_hash = $3, stream_version = $4, hash = $5 WHERE position = $1", [
      position,
      Buffer.from(record.prevHash, "base64"),
      Buffer.from(record.streamPrevHash, "base64"),
      record.streamVersion,
      hash,
    ]);
  } finally {
    await pool.end();
  }
}

// 20 events in ranges of 4: boundaries between 4|5, 8|9, 12|13 and 16|17. Position 9 is the
// first event of a range and the first of its stream (acct-1) in that range, so its links
// are checked only where the ranges are joined.
describe("annal verify in parallel ranges: a break at a range boundary is found and named", () => {
  const ranges = { workers: 2, rangeSize: 4 };
  const boundary: Array<[string, () => Promise<unknown>, RegExp]> = [
    ["prevHash of the first event of a range rewritten (its hash recomputed)", () => rewriteEvent(9, { prevHash: Buffer.alloc(32, 7) }), /^prevHash does not link to the previous event$/],
    ["streamPrevHash of a stream's first event in a range rewritten (its hash recomputed)", () => rewriteEvent(9, { streamPrevHash: Buffer.alloc(32, 7) }), /^streamPrevHash does not link to the previous event of stream acct-1$/],
    ["the stream version of a range's first event rewritten (its hash recomputed)", () => rewriteEvent(9, { streamVersion: 99 }), /^stream acct-1 version 99, expected 3$/],
    [
      "the first row of a range deleted",
      async () => {
        await admin.query(`DELETE FROM annal.payloads WHERE position = 9`);
        await admin.query(`DELETE FROM annal.events WHERE position = 9`);
      },
      /^position 9 is missing \(next seen: 10\)$/,
    ],
    [
      "the last row of a range deleted",
      async () => {
        await admin.query(`DELETE FROM annal.payloads WHERE position = 8`);
        await admin.query(`DELETE FROM annal.events WHERE position = 8`);
      },
      /^position 8 is missing \(next seen: 9\)$/,
    ],
  ];

  it.each(boundary)("given %s, --fast and full name it, as the sequential pass does", async (_name, tamper, reason) => {
    await tamper();
    const position = /position 8 /.test(reason.source) ? 8 : 9;
    for (const fast of [true, false]) {
      const parallel = await verifyWith({ ...ranges, fast });
      expect(parallel).toMatchObject({ ok: false, position });
      expect((parallel as { reason: string }).reason).toMatch(reason);
      // The sequential pass (no workers) is the oracle: same position, reason and counts.
      expect(parallel).toEqual(await verifyWith({ workers: 0, fast }));
    }
  });

  it.each(tampering)("given %s, the ranges report what the sequential pass reports", async (_name, tamper) => {
    await tamper();
    for (const fast of [true, false]) expect(await verifyWith({ ...ranges, fast })).toEqual(await verifyWith({ workers: 0, fast }));
  });

  it("given an untouched log, the ranges and the sequential pass agree on the root", async () => {
    const parallel = await verifyWith({ ...ranges, fast: true });
    expect(parallel).toMatchObject({ ok: true, events: 20, checkpoints: 10 });
    expect(parallel).toEqual(await verifyWith({ workers: 0, fast: true }));
    expect(await verifyWith({ ...ranges, fast: false })).toEqual(parallel);
  });
});

describe("the log is insert-only in the database itself", () => {
  it("refuses UPDATE, DELETE and TRUNCATE of events even to a superuser while triggers are on", async () => {
    await admin.query("SET session_replication_role = origin");
    await expect(admin.query("UPDATE annal.events SET type = 'x' WHERE position = 1")).rejects.toThrow(/append-only/);
    await expect(admin.query("DELETE FROM annal.events WHERE position = 1")).rejects.toThrow(/append-only/);
    await expect(admin.query("TRUNCATE annal.events CASCADE")).rejects.toThrow(/append-only/);
    await expect(admin.query("UPDATE annal.payloads SET data = '1' WHERE position = 1")).rejects.toThrow(/append-only/);
  });

  it("refuses UPDATE and DELETE to the application role by privilege", async () => {
    const app = new pg.Client({ connectionString: t.adminUrl, options: "-c role=annal_app" });
    await app.connect();
    try {
      await expect(app.query("UPDATE annal.events SET type = 'x' WHERE position = 1")).rejects.toThrow(/permission denied/);
      await expect(app.query("DELETE FROM annal.events WHERE position = 1")).rejects.toThrow(/permission denied/);
      await expect(app.query("TRUNCATE annal.events")).rejects.toThrow(/permission denied/);
      await expect(app.query("UPDATE annal.checkpoints SET note = '' WHERE tree_size = 2")).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });
});
