// The independent Python verifier (test/interop/python-verifier/, written from
// docs/verification.md alone, with PyNaCl and rfc8785 from PyPI) against a live Annal,
// its receipts and its exports. Needs python3 (3.9+) with venv on PATH; the first run
// creates a virtual environment under node_modules/.cache and installs the pinned
// requirements from PyPI. Without Python this test FAILS (it never skips): a spec that
// only Annal's own code has read proves nothing.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpExportSource, exportLog } from "../../src/cli/export-log.js";
import type { PublicKeyInfo } from "../../src/ledger/types.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { PYTHON_VERIFIER_DIR as DIR, pythonWithRequirements } from "../support/python.js";
import { randomName } from "../support/services.js";

const run = promisify(execFile);
const VECTORS = fileURLToPath(new URL("../vectors/ed25519.json", import.meta.url));

let python: string;
let t: TestHttpAnnal;
let dir: string;
let verifierKey: string;
let auditor: string;
let size = 0;
let batches = 0;

interface Verdict {
  ok: boolean;
  position?: number;
  reason?: string;
  [member: string]: unknown;
}

async function verify(...args: string[]): Promise<Verdict> {
  const result = await run(python, [join(DIR, "annal_verify.py"), ...args], { timeout: 120_000 }).catch((error: { stdout?: string; stderr?: string }) => {
    if (!error.stdout) throw new Error(`the Python verifier crashed: ${error.stderr}`);
    return { stdout: error.stdout };
  });
  return JSON.parse(result.stdout) as Verdict;
}

beforeAll(async () => {
  python = pythonWithRequirements();
  t = await startTestHttpAnnal({ auth: "oidc" });
  dir = await mkdtemp(join(tmpdir(), "annal-python-"));
  const writer = await t.token("writer");
  auditor = await t.token("auditor");
  const admin = await t.token("admin");
  // Data that exercises canonical JSON: numbers, escapes, non-ASCII, UTF-16 ordering, null.
  const payloads: unknown[] = [
    { amount: 1250.5, tiny: 1e-7, small: 0.000001, negative: -0, big: 9007199254740991 },
    { text: "Zoë Ångström 💰\n\t\"quoted\" \\ / \u2028 \u007f", "\ufb33": 1, "😀": 2, é: 3 },
    null,
    [1, "two", { three: [true, false, null] }],
    "a string payload",
  ];
  for (const [i, count] of [3, 1, 4, 2, 5, 1, 3].entries()) {
    const stream = randomName(`py-${i % 3}`);
    const response = await fetch(`${t.url}/streams/${stream}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${writer}`, "content-type": "application/json" },
      body: JSON.stringify({ events: Array.from({ length: count }, (_, j) => ({ type: "ThingHappened", data: payloads[(i + j) % payloads.length], metadata: { actor: `user:${i}`, n: j } })) }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    size = ((await response.json()) as { checkpoint: { treeSize: number } }).checkpoint.treeSize;
    batches++;
  }
  // A redaction appends its own record, so the log grows by one and gains a checkpoint.
  const redacted = await fetch(`${t.url}/admin/events/2/redact`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ reason: "test" }) });
  expect(redacted.status, await redacted.clone().text()).toBe(200);
  size++;
  batches++;
  verifierKey = ((await (await fetch(`${t.url}/keys`)).json()) as { keys: PublicKeyInfo[] }).keys[0]!.noteVerifierKey;
}, 300_000);

afterAll(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("an independent Python verifier written from docs/verification.md", () => {
  it("gives the verdict of every Ed25519 edge-case vector (libsodium through PyNaCl)", async () => {
    expect(await verify("ed25519", VECTORS)).toEqual({ ok: true, cases: 16 });
  });

  it("verifies the live log over HTTP with an auditor's token: keys, every record, every checkpoint, consistency between them", async () => {
    expect(await verify("log", "--url", t.url, "--token", auditor, "--key", verifierKey, "--page", "4")).toMatchObject({ ok: true, events: size, checkpoints: batches, keys: 1 });
  });

  it("is refused the log without a token (only /keys is public)", async () => {
    expect(await verify("log", "--url", t.url, "--key", verifierKey)).toMatchObject({ ok: false, reason: expect.stringContaining("HTTP 401") });
  });

  it("verifies the receipt of every event, the redacted one included", async () => {
    expect(await verify("receipts", "--url", t.url, "--token", auditor, "--key", verifierKey)).toEqual({ ok: true, receipts: size });
  });

  it("verifies exports of the whole log and of a middle range, and names the position of a tampered record", async () => {
    const headers = { authorization: `Bearer ${auditor}` };
    const whole = join(dir, "whole.ndjson");
    await exportLog(createHttpExportSource(t.url, headers), { out: whole });
    expect(await verify("export", whole, "--key", verifierKey)).toMatchObject({ ok: true, from: 1, to: size });
    const middle = join(dir, "middle.ndjson");
    await exportLog(createHttpExportSource(t.url, headers), { from: 4, to: 9, out: middle });
    expect(await verify("export", middle, "--key", verifierKey)).toMatchObject({ ok: true, from: 4, to: 9, checkpoint: expect.any(Number) });

    const lines = (await readFile(whole, "utf8")).split("\n");
    const record = JSON.parse(lines[5]!) as { position: number; metadata: Record<string, unknown> };
    record.metadata.actor = "user:mallory";
    lines[5] = JSON.stringify(record);
    const tampered = join(dir, "tampered.ndjson");
    await writeFile(tampered, lines.join("\n"));
    expect(await verify("export", tampered, "--key", verifierKey)).toMatchObject({ ok: false, position: 5 });
  });

  it("refuses a key it was not given, and a record with a member section 3 does not list", async () => {
    const other = "annal.example/test-log+83957fa7+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";
    expect(await verify("log", "--url", t.url, "--token", auditor, "--key", other)).toMatchObject({ ok: false });
    const receipt = (await (await fetch(`${t.url}/events/3/receipt`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as { event: Record<string, unknown> };
    const file = join(dir, "receipt.json");
    await writeFile(file, JSON.stringify(receipt));
    expect(await verify("receipt", file, "--key", verifierKey)).toMatchObject({ ok: true, position: 3 });
    receipt.event.redacted = false;
    await writeFile(file, JSON.stringify(receipt));
    expect(await verify("receipt", file, "--key", verifierKey)).toMatchObject({ ok: false, reason: expect.stringContaining("unknown members") });
  });
});
