import { execFile } from "node:child_process";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import type { EventSource } from "../../src/cli/event-sources.js";
import { verifyLog } from "../../src/cli/verify.js";
import { loadConfig } from "../../src/config.js";
import { computeEventHash, keyIdOf, parseNote, toBase64, type EventRecord } from "../../src/core/index.js";
import type { PublicKeyInfo } from "../../src/ledger/index.js";
import { ERR_KEY_OUTSIDE_WINDOW, resolveTrustedKey, verifyCheckpointNote, verifyEvent, verifyReceipt, type TrustedKey } from "../../src/verify/index.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { runCli } from "../support/processes.js";
import { PYTHON_VERIFIER_DIR, pythonWithRequirements } from "../support/python.js";

async function runPython(python: string, args: string[]): Promise<{ ok: boolean; events?: number; position?: number; reason?: string }> {
  const result = await promisify(execFile)(python, [join(PYTHON_VERIFIER_DIR, "annal_verify.py"), ...args], { timeout: 120_000, maxBuffer: 1 << 24 }).catch((error: { stdout?: string; stderr?: string }) => {
    if (!error.stdout) throw new Error(`the Python verifier crashed: ${error.stderr}`);
    return { stdout: error.stdout };
  });
  return JSON.parse(result.stdout) as { ok: boolean };
}

// Rotation under load, on a real PostgreSQL: 16 writers on two instances that both hold
// the old and the next key, a rotation through POST /admin/keys/rotate in the middle, and
// a third instance holding only the old key. Then every verifier follows the keys.

interface Key {
  file: string;
  privateKey: KeyObject;
  publicKey: Uint8Array;
  keyId: string;
}

async function writeKey(dir: string, name: string): Promise<Key> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const file = join(dir, name);
  await writeFile(file, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
  return { file, privateKey, publicKey: raw, keyId: keyIdOf(raw) };
}

let dir: string;
let oldKey: Key;
let newKey: Key;
let http: TestHttpAnnal;
let second: AnnalCore;
let oldOnly: AnnalCore;

const silent = pino({ level: "silent" });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annal-rotation-"));
  oldKey = await writeKey(dir, "old.pem");
  newKey = await writeKey(dir, "new.pem");
  const keys = { ANNAL_SIGNING_KEY_FILE: oldKey.file, ANNAL_NEXT_SIGNING_KEY: `file:${newKey.file}`, ANNAL_KEY_OVERLAP_SECONDS: "3600" };
  http = await startTestHttpAnnal({ auth: "off", env: keys });
  const open = async (env: Record<string, string>) =>
    openAnnal(loadConfig({ DATABASE_URL: http.annal.adminUrl, ANNAL_HOME: await mkdtemp(join(dir, "home-")), ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off", ...env }), silent);
  second = await open(keys);
  oldOnly = await open({ ANNAL_SIGNING_KEY_FILE: oldKey.file });
});

afterAll(async () => {
  await oldOnly?.close();
  await second?.close();
  await http?.close();
  await rm(dir, { recursive: true, force: true });
});

const getJson = async <T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${http.url}${path}`, init);
  return { status: response.status, body: (await response.json()) as T };
};

/** GET /keys as an auditor reads it: trusted keys with their published windows. */
async function publishedKeys(): Promise<{ info: PublicKeyInfo[]; trusted: TrustedKey[] }> {
  const { body } = await getJson<{ keys: PublicKeyInfo[] }>("/keys");
  const trusted = body.keys.map((k) => {
    const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition ? { toPosition: k.toPosition } : {}) });
    if ("error" in key) throw new Error(key.error);
    return key;
  });
  return { info: body.keys, trusted };
}

describe("key rotation under load", () => {
  let rotatedAt = 0;
  let receiptBefore: unknown;

  it("16 writers on two instances never fail while the key rotates; every instance switches at one position", async () => {
    // An event and its stand-alone receipt, issued before the rotation.
    await http.annal.ledger.append({ streamId: "before", events: [{ type: "Early", data: { n: 0 } }] });
    receiptBefore = (await getJson<unknown>("/events/1/receipt")).body;
    // The old-key-only instance appends too while the old key is in force.
    await oldOnly.ledger.append({ streamId: "old-only", events: [{ type: "Early", data: { n: 1 } }] });

    const ledgers = [http.annal.ledger, second.ledger];
    let appended = 0;
    let stop = false;
    const failures: unknown[] = [];
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        try {
          await ledgers[w % 2]!.append({ streamId: `writer-${w}`, events: [{ type: "Wrote", data: { w, n } }] });
          appended++;
        } catch (error) {
          failures.push(error);
          return;
        }
      }
    });
    const until = async (count: number) => {
      while (appended < count && failures.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await until(300);
    const rotated = await getJson<{ position: number; fromPosition: number; previousKeyId: string; newKeyId: string; checkpoint: { note: string } }>("/admin/keys/rotate", { method: "POST" });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ previousKeyId: oldKey.keyId, newKeyId: newKey.keyId, fromPosition: rotated.body.position + 1 });
    rotatedAt = rotated.body.position;
    const afterRotation = appended;
    await until(afterRotation + 300);
    stop = true;
    await Promise.all(writers);
    expect(failures).toEqual([]);

    // Every event up to the KeyRotated event is signed by the old key, every one after by the new.
    const { rows } = await http.annal.pool.query<{ position: string; key_id: string; stream_id: string; type: string }>("SELECT position, key_id, stream_id, type FROM annal.events ORDER BY position");
    expect(rows.length).toBeGreaterThan(rotatedAt + 100);
    for (const row of rows) expect({ position: Number(row.position), key: row.key_id }).toEqual({ position: Number(row.position), key: Number(row.position) <= rotatedAt ? oldKey.keyId : newKey.keyId });
    expect(rows[rotatedAt - 1]).toMatchObject({ stream_id: "annal:keys", type: "KeyRotated" });

    // GET /keys publishes both windows.
    const { info } = await publishedKeys();
    expect(info.map((k) => ({ keyId: k.keyId, fromPosition: k.fromPosition, toPosition: k.toPosition }))).toEqual([
      { keyId: oldKey.keyId, fromPosition: 1, toPosition: rotatedAt },
      { keyId: newKey.keyId, fromPosition: rotatedAt + 1, toPosition: undefined },
    ]);
    expect(info[0]!.validTo).toBeDefined();
  });

  it("an instance without the key in force refuses to append (ERR_SIGNING_KEY_UNAVAILABLE) and never signs with the retired key", async () => {
    await expect(oldOnly.ledger.append({ streamId: "old-only", events: [{ type: "Late", data: {} }] })).rejects.toMatchObject({ code: "ERR_SIGNING_KEY_UNAVAILABLE" });
    const { rows } = await http.annal.pool.query<{ n: string }>("SELECT count(*) AS n FROM annal.events WHERE key_id = $1 AND position > $2", [oldKey.keyId, rotatedAt]);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it("annal verify passes across the rotation: keys from the database, from GET /keys, and with only the first key pinned", async () => {
    const fromDatabase = await runCli(["verify", "--database-url", http.annal.adminUrl, "--no-progress"]);
    expect(fromDatabase.stderr).toBe("");
    expect(fromDatabase.code).toBe(0);
    const overHttp = await runCli(["verify", "--url", http.url, "--no-progress"]);
    expect(overHttp.stderr).toBe("");
    expect(overHttp.code).toBe(0);
    // Pinning only the first key: the new one is derived from the verified KeyRotated event.
    const pinnedFirst = await runCli(["verify", "--database-url", http.annal.adminUrl, "--no-progress", "--public-key", toBase64(oldKey.publicKey)]);
    expect(pinnedFirst.stderr).toBe("");
    expect(pinnedFirst.code).toBe(0);
    // Pinning only the new key is not enough: the log starts with the old one.
    const pinnedNew = await runCli(["verify", "--database-url", http.annal.adminUrl, "--no-progress", "--public-key", toBase64(newKey.publicKey)]);
    expect(pinnedNew.code).toBe(1);
    expect(pinnedNew.stderr).toContain("FAILED at position 1");
  });

  it("the independent Python verifier (written from docs/verification.md) follows the rotation with only the first key pinned", async () => {
    const python = pythonWithRequirements();
    const { info } = await publishedKeys();
    const size = Number((await http.annal.pool.query<{ position: string }>("SELECT position FROM annal.durable_head")).rows[0]!.position);
    const verdict = await runPython(python, ["log", "--url", http.url, "--key", info[0]!.noteVerifierKey, "--page", "200"]);
    expect(verdict).toMatchObject({ ok: true, keys: 2 });
    expect(verdict.events).toBeGreaterThanOrEqual(size);
    // Pinned to the new key alone, it fails at position 1.
    expect(await runPython(python, ["log", "--url", http.url, "--key", info[1]!.noteVerifierKey, "--page", "200"])).toMatchObject({ ok: false, position: 1 });
  });

  it("a receipt issued before the rotation verifies after it", async () => {
    // The keys as GET /keys publishes them, windows included.
    const { info } = await publishedKeys();
    const published = info.map((k) => ({ verifierKey: k.noteVerifierKey, ...(k.fromPosition ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition ? { toPosition: k.toPosition } : {}) }));
    expect(verifyReceipt(receiptBefore, published)).toEqual({ ok: true });
    // With the old key alone, pinned long ago.
    expect(verifyReceipt(receiptBefore, { publicKey: oldKey.publicKey })).toEqual({ ok: true });
    // One fetched now for the same event: its checkpoint is the new key's, the event the old key's.
    const now = (await getJson<unknown>("/events/1/receipt")).body;
    expect(verifyReceipt(now, published)).toEqual({ ok: true });
  });

  it("checkpoints in the overlap carry both keys' signatures, and each verifies", async () => {
    const { rows } = await http.annal.pool.query<{ tree_size: string; note: string }>("SELECT tree_size, note FROM annal.checkpoints ORDER BY tree_size");
    const after = rows.filter((r) => Number(r.tree_size) > rotatedAt);
    expect(after.length).toBeGreaterThan(0);
    const oldTrusted = { name: undefined, publicKey: oldKey.publicKey, keyId: oldKey.keyId };
    const newTrusted = { name: undefined, publicKey: newKey.publicKey, keyId: newKey.keyId };
    for (const row of after) {
      expect(parseNote(row.note)!.signatures).toHaveLength(2);
      expect(verifyCheckpointNote(row.note, oldTrusted).ok).toBe(true);
      expect(verifyCheckpointNote(row.note, newTrusted).ok).toBe(true);
    }
    // Before and at the rotation: the old key alone.
    for (const row of rows.filter((r) => Number(r.tree_size) <= rotatedAt)) {
      expect(parseNote(row.note)!.signatures).toHaveLength(1);
      expect(verifyCheckpointNote(row.note, oldTrusted).ok).toBe(true);
      expect(verifyCheckpointNote(row.note, newTrusted).ok).toBe(false);
    }
    // A verifier with the windows needs the key in force at the checkpoint's size: the
    // old key's overlap signature alone would not do.
    const { trusted } = await publishedKeys();
    expect(verifyCheckpointNote(after[0]!.note, trusted.filter((k) => k.keyId === oldKey.keyId))).toMatchObject({ ok: false, code: ERR_KEY_OUTSIDE_WINDOW });
  });

  it("an event signed with the new key at a position before its window is refused, naming the position and the key", async () => {
    const events = await http.annal.reader.readAll({ fromPosition: 1, limit: rotatedAt });
    const forgedAt = rotatedAt - 5;
    // What a holder of the new key could make: a well-formed event at an earlier position,
    // linked to its predecessor, hashed and signed correctly, by the new key.
    const original = events[forgedAt - 1]!;
    const header = { ...original, keyId: newKey.keyId };
    const hash = computeEventHash(header);
    const forged: EventRecord = { ...header, hash: toBase64(hash), signature: toBase64(new Uint8Array(sign(null, hash, newKey.privateKey))) };
    const log = [...events.slice(0, forgedAt - 1), forged];
    const { info, trusted } = await publishedKeys();
    const source = (records: EventRecord[]): EventSource => ({
      describe: "forged",
      publicKeys: () => Promise.resolve(info),
      size: () => Promise.resolve(records.length),
      pages: () => (async function* () {
        yield await Promise.resolve(records.map((record) => ({ record })));
      })(),
      checkpoints: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    });
    // The forged record is otherwise perfect: hashes, link and signature all check.
    expect(verifyEvent(forged, [{ name: undefined, publicKey: newKey.publicKey, keyId: newKey.keyId }]).ok).toBe(true);

    // annal verify with the published windows, and with both keys pinned (no windows: the log's own rotation decides).
    for (const options of [{}, { pinnedKeys: [oldKey.publicKey, newKey.publicKey] }]) {
      const report = await verifyLog(source(log), { ...options, workers: 0 });
      expect(report).toMatchObject({ ok: false, position: forgedAt, code: ERR_KEY_OUTSIDE_WINDOW });
      if (!report.ok) expect(report.reason).toContain(newKey.keyId);
    }
    // The stateless check (receipts, consumers) with the published windows.
    const verdict = verifyEvent(forged, trusted);
    expect(verdict).toMatchObject({ ok: false, code: ERR_KEY_OUTSIDE_WINDOW });
    if (!verdict.ok) expect(verdict.reason).toContain(`position ${forgedAt}`);
    // The genuine log up to there verifies with the same verifier, so the refusal is the window's.
    expect(await verifyLog(source(events.slice(0, forgedAt)), { workers: 0 })).toMatchObject({ ok: true });
  });
  it("annal keys list shows the windows; annal keys rotate on the database moves on to a third key; a server without it answers 503", async () => {
    const listed = await runCli(["keys", "list", "--database-url", http.annal.adminUrl]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${oldKey.keyId}  positions 1..${rotatedAt}`);
    expect(listed.stdout).toContain(`${newKey.keyId}  positions ${rotatedAt + 1}..`);

    const third = await writeKey(dir, "third.pem");
    const env = { ANNAL_SIGNING_KEY_FILE: newKey.file, ANNAL_NEXT_SIGNING_KEY: `file:${third.file}`, ANNAL_HOME: await mkdtemp(join(dir, "cli-")), ANNAL_LOG_LEVEL: "silent" };
    const rotated = await runCli(["keys", "rotate", "--database-url", http.annal.adminUrl], env);
    expect(rotated.stderr).toBe("");
    expect(rotated.code).toBe(0);
    const secondRotation = Number(/signs up to position (\d+)/.exec(rotated.stdout)![1]);
    expect(rotated.stdout).toContain(`key ${third.keyId} signs from position ${secondRotation + 1}`);
    // Again: the third key is already in force, so nothing is appended.
    const again = await runCli(["keys", "rotate", "--database-url", http.annal.adminUrl], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("ERR_CONFLICT");

    // The HTTP server holds the first two keys only: its appends are refused with 503.
    const refused = await fetch(`${http.url}/streams/after-third/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "Late", data: {} }] }) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(((await refused.json()) as { code: string }).code).toBe("ERR_SIGNING_KEY_UNAVAILABLE");

    // Two rotations, only the first key pinned: still one verifiable log.
    const pinnedFirst = await runCli(["verify", "--database-url", http.annal.adminUrl, "--no-progress", "--public-key", toBase64(oldKey.publicKey)]);
    expect(pinnedFirst.stderr).toBe("");
    expect(pinnedFirst.code).toBe(0);
  });
});
