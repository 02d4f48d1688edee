import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseSource, createHttpSource, parsePinnedKey } from "../../src/cli/event-sources.js";
import { createHttpExportSource, exportLog } from "../../src/cli/export-log.js";
import { verifyExportFile } from "../../src/cli/verify-export.js";
import { verifyLog } from "../../src/cli/verify.js";
import type { EventRecord } from "../../src/core/index.js";
import type { PublicKeyInfo } from "../../src/ledger/types.js";
import { fsck } from "../../src/cli/fsck.js";
import { parseTrustedKey, verifyReceipt, type TrustedKey } from "../../src/verify/index.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// Redaction under load: 100 payloads redacted while 16 writers append. Every verifier
// still passes, the redacted records are served in the documented shape (section 3:
// no data, no dataSalt, nothing else), and the payload rows are gone.

let t: TestHttpAnnal;
let dir: string;
let verifierKey: string;
const SEEDED = 240;
const REDACTED = 100;
const WRITERS = 16;
const redacted: number[] = [];

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${t.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
  dir = await mkdtemp(join(tmpdir(), "annal-redaction-"));
  for (let i = 0; i < SEEDED / 20; i++) {
    const response = await post(`/streams/${randomName("pii")}/events`, { events: Array.from({ length: 20 }, (_, j) => ({ type: "CustomerRegistered", data: { name: `person ${i}-${j}`, email: `p${i}.${j}@example.com` } })) });
    expect(response.status).toBe(201);
  }
  verifierKey = ((await (await fetch(`${t.url}/keys`)).json()) as { keys: PublicKeyInfo[] }).keys[0]!.noteVerifierKey;

  let writing = true;
  let appended = 0;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    const stream = randomName(`load-${w}`);
    while (writing) {
      const response = await post(`/streams/${stream}/events`, { events: [{ type: "LoadApplied", data: { w, n: appended } }, { type: "LoadApplied", data: { w } }] });
      expect(response.status).toBe(201);
      appended += 2;
    }
  });
  // Every other seeded event, then more from the middle, four redactions at a time.
  const targets = [...Array.from({ length: SEEDED / 2 }, (_, i) => 1 + 2 * i)].slice(0, REDACTED);
  for (let i = 0; i < targets.length; i += 4) {
    const batch = targets.slice(i, i + 4);
    const answers = await Promise.all(batch.map((p) => post(`/admin/events/${p}/redact`, { reason: "erasure request" })));
    for (const [k, answer] of answers.entries()) {
      expect(answer.status, await answer.clone().text()).toBe(200);
      const body = (await answer.json()) as { position: number; redaction: { position: number } };
      expect(body.position).toBe(batch[k]);
      expect(body.redaction.position).toBeGreaterThan(SEEDED);
      redacted.push(body.position);
    }
  }
  writing = false;
  await Promise.all(writers);
  expect(appended).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("redaction under load", () => {
  it("removed exactly the 100 payloads from the database and recorded each redaction in annal:redactions", async () => {
    const client = new pg.Client({ connectionString: t.annal.adminUrl });
    await client.connect();
    try {
      const gone = await client.query<{ position: number }>("SELECT e.position FROM annal.events e LEFT JOIN annal.payloads p USING (position) WHERE p.position IS NULL ORDER BY e.position");
      expect(gone.rows.map((r) => Number(r.position))).toEqual([...redacted].sort((a, b) => a - b));
      const records = await client.query<{ data: string }>("SELECT p.data FROM annal.events e JOIN annal.payloads p USING (position) WHERE e.stream_id = 'annal:redactions' AND e.type = 'PayloadRedacted'");
      expect(records.rows.map((r) => (JSON.parse(r.data) as { position: number }).position).sort((a, b) => a - b)).toEqual([...redacted].sort((a, b) => a - b));
    } finally {
      await client.end();
    }
  });

  it("serves a redacted record with exactly the section 3 members minus data and dataSalt", async () => {
    const record = (await (await fetch(`${t.url}/events/${redacted[0]}`)).json()) as EventRecord;
    expect(Object.keys(record).sort()).toEqual(
      ["position", "streamId", "streamVersion", "eventId", "type", "recordedAt", "metadata", "dataHash", "prevHash", "streamPrevHash", "keyId", "hash", "signature"].sort(),
    );
    const kept = (await (await fetch(`${t.url}/events/${redacted[0]! + 1}`)).json()) as EventRecord;
    expect(kept.data).toMatchObject({ name: expect.any(String) });
  });

  it("annal fsck finds a redaction record for every missing payload", async () => {
    const pool = new pg.Pool({ connectionString: t.annal.adminUrl, max: 1 });
    try {
      expect(await fsck(pool, [parseTrustedKey(verifierKey) as TrustedKey])).toMatchObject({ ok: true });
    } finally {
      await pool.end();
    }
  });

  it("annal verify passes from the database and over HTTP", async () => {
    const pinned = [parsePinnedKey(verifierKey)];
    const fromDb = createDatabaseSource(t.annal.adminUrl);
    try {
      expect(await verifyLog(fromDb, { pinnedKeys: pinned, workers: 1 })).toMatchObject({ ok: true });
    } finally {
      await fromDb.close();
    }
    expect(await verifyLog(createHttpSource(t.url, fetch, {}), { pinnedKeys: pinned, workers: 1 })).toMatchObject({ ok: true });
  });

  it("receipts of redacted events verify, and an export of the whole log verifies", async () => {
    for (const position of redacted.slice(0, 10)) {
      const receipt = (await (await fetch(`${t.url}/events/${position}/receipt`)).json()) as { event: EventRecord };
      expect("data" in receipt.event || "dataSalt" in receipt.event).toBe(false);
      expect(verifyReceipt(receipt, { verifierKey })).toEqual({ ok: true });
    }
    const out = join(dir, "all.ndjson");
    await exportLog(createHttpExportSource(t.url), { out });
    expect(await verifyExportFile(out, { publicKeys: [verifierKey] })).toMatchObject({ ok: true, from: 1 });
  });

  it("refuses a second redaction, the redaction of a redaction record, and appends to annal:* streams", async () => {
    const again = await post(`/admin/events/${redacted[0]}/redact`, {});
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "ERR_ALREADY_REDACTED" });
    const list = (await (await fetch(`${t.url}/streams/annal:redactions/events?limit=1`)).json()) as { events: EventRecord[] };
    expect((await post(`/admin/events/${list.events[0]!.position}/redact`, {})).status).toBe(400);
    const forged = await post("/streams/annal:redactions/events", { events: [{ type: "PayloadRedacted", data: { position: 1 } }] });
    expect(forged.status).toBe(403);
    expect((await post(`/admin/events/999999/redact`, {})).status).toBe(404);
    expect((await post(`/admin/events/2/redact`, { reason: "" })).status).toBe(400);
    expect((await post(`/admin/events/2/redact`, { why: "x" })).status).toBe(400);
  });
});
