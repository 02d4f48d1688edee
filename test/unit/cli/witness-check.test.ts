import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../../src/api/serve.js";
import { consistencyProofOf, decodeHash, leafHash, toBase64 } from "../../../src/core/index.js";
import { createChainBuilder, type ChainBuilder } from "../../support/chain-fixture.js";

// `annal verify --witness` run as the real CLI process against a log server whose view
// the test controls: the same key and origin serving a growing log, a shorter one
// (rollback), another history (fork), or a corrupted proof.

const run = promisify(execFile);

function history(size: number, prefix: string): { builder: ChainBuilder; notes: Map<number, { note: string; root: string }>; leaves: Uint8Array[] } {
  const builder = createChainBuilder();
  const notes = new Map<number, { note: string; root: string }>();
  for (let i = 1; i <= size; i++) {
    builder.append({ streamId: `${prefix}-${i % 2}` });
    const cp = builder.checkpoint();
    notes.set(i, { note: cp.note, root: cp.checkpoint.rootHash });
  }
  return { builder, notes, leaves: builder.records.map((r) => leafHash(decodeHash(r.hash)!)) };
}

const main = history(20, "main");
const fork = history(20, "fork");
const view = { log: main, size: 5, corruptProof: false };

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  const app = new Hono();
  app.get("/keys", (c) => c.json({ keys: [{ keyId: main.builder.key.keyId, algorithm: "Ed25519", publicKey: toBase64(main.builder.key.publicKey), noteVerifierKey: main.builder.key.verifierKey, validFrom: "2026-01-01T00:00:00.000Z" }] }));
  app.get("/checkpoints/latest", (c) => {
    const cp = view.log.notes.get(view.size)!;
    return c.json({ treeSize: view.size, rootHash: cp.root, note: cp.note });
  });
  app.get("/proofs/consistency", (c) => {
    const from = Number(c.req.query("from"));
    const to = Number(c.req.query("to"));
    const path = consistencyProofOf(view.log.leaves, from, to).map(toBase64);
    if (view.corruptProof) path[0] = toBase64(new Uint8Array(32).fill(3));
    return c.json({ from, to, path });
  });
  server = await startServer(app, { host: "127.0.0.1", port: 0 });
  dir = await mkdtemp(join(tmpdir(), "annal-auditor-"));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function verifyWitness(stateFile: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/annal.js", "verify", "--url", server.url, "--witness", stateFile, ...extra], { cwd: process.cwd() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function snapshot(path: string): Promise<{ text: string; mtime: number }> {
  return { text: await readFile(path, "utf8"), mtime: (await stat(path)).mtimeMs };
}

describe("annal verify --witness", () => {
  const state = () => join(dir, "state.json");

  it("trusts on first use (and says so), then follows consistent growth", async () => {
    Object.assign(view, { log: main, size: 5, corruptProof: false });
    const first = await verifyWitness(state());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/TRUST ON FIRST USE/);
    expect(JSON.parse(await readFile(state(), "utf8"))).toMatchObject({ publicKey: main.builder.key.verifierKey, checkpoint: { treeSize: 5 } });
    view.size = 12;
    const grown = await verifyWitness(state());
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stderr).not.toMatch(/TRUST ON FIRST USE/);
    expect(JSON.parse(await readFile(state(), "utf8")).checkpoint.treeSize).toBe(12);
  });

  it.each([
    ["rollback", { log: main, size: 7, corruptProof: false }, /ROLLBACK/],
    ["fork at the same size", { log: fork, size: 12, corruptProof: false }, /FORK/],
    ["fork that grew", { log: fork, size: 16, corruptProof: false }, /INCONSISTENT/],
    ["bad proof", { log: main, size: 16, corruptProof: true }, /INCONSISTENT/],
  ] as const)("reports a %s loudly with both checkpoints, exits non-zero and leaves the state file as it was", async (_name, served, pattern) => {
    Object.assign(view, served);
    const before = await snapshot(state());
    const result = await verifyWitness(state());
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).toContain("checkpoint recorded in");
    expect(result.stderr).toContain(main.notes.get(12)!.root);
    expect(await snapshot(state())).toEqual(before);
  });

  it("refuses a --public-key that differs from the pinned one", async () => {
    Object.assign(view, { log: main, size: 12, corruptProof: false });
    const before = await snapshot(state());
    const result = await verifyWitness(state(), ["--public-key", toBase64(new Uint8Array(32).fill(1))]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/KEY-MISMATCH/);
    expect(await snapshot(state())).toEqual(before);
  });
});
