import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/api/serve.js";
import { serveWitness } from "../../src/cli/witness-serve.js";
import { formatVerifierKey } from "../../src/core/index.js";
import type { CheckpointView } from "../../src/ledger/types.js";
import { parseCosignerVerifierKey, parseTrustedKey, verifyCheckpointNote, verifyCosignature, type TrustedKey } from "../../src/verify/index.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/processes.js";
import { createTestDatabase, randomName } from "../support/services.js";

// `annal serve` as a real process configured with ANNAL_WITNESSES: its checkpoints get
// cosigned after commit and served with the cosignature; the auditor CLI follows it.

const ORIGIN = "ledger.test/witnessed";
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let witness: RunningServer & { verifierKey: string };
let server: ServerProcess;
let logVerifierKey: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "annal-witness-serve-"));
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  await writeFile(join(dir, "ledger.pem"), privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  logVerifierKey = formatVerifierKey(ORIGIN, new Uint8Array(raw));
  witness = await serveWitness({ name: "witness.test/w1", keyFile: join(dir, "witness.pem"), stateDir: join(dir, "witness-state"), logs: [logVerifierKey], host: "127.0.0.1", port: 0 });
  server = await startServerProcess({
    ANNAL_AUTH: "off",
    DATABASE_URL: db.url,
    ANNAL_HOME: join(dir, "home"),
    ANNAL_ORIGIN: ORIGIN,
    ANNAL_SIGNING_KEY_FILE: join(dir, "ledger.pem"),
    ANNAL_WITNESSES: JSON.stringify([{ url: witness.url, verifierKey: witness.verifierKey }]),
  });
});
afterAll(async () => {
  await server?.stop();
  await witness?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function latestCosigned(minSize: number): Promise<CheckpointView> {
  const cosigner = parseCosignerVerifierKey(witness.verifierKey)!;
  for (let i = 0; i < 100; i++) {
    const latest = (await (await fetch(`${server.url}/checkpoints/latest`)).json()) as CheckpointView;
    if (latest.treeSize >= minSize && verifyCosignature(latest.note, cosigner).ok) return latest;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no cosigned checkpoint of size >= ${minSize}:\n${server.output()}`);
}

describe("annal serve with ANNAL_WITNESSES", () => {
  it("serves checkpoints cosigned by the witness, and the auditor check follows the log", async () => {
    const state = join(dir, "auditor.json");
    let size = 0;
    for (const count of [2, 5, 1]) {
      const response = await fetch(`${server.url}/streams/${randomName("w")}/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ events: Array.from({ length: count }, () => ({ type: "ThingHappened", data: {} })) }),
      });
      expect(response.status).toBe(201);
      size += count;
      const latest = await latestCosigned(size);
      expect(verifyCheckpointNote(latest.note, parseTrustedKey(logVerifierKey) as TrustedKey).ok).toBe(true);
      const bySize = await (await fetch(`${server.url}/checkpoints?treeSize=${latest.treeSize}`, { headers: { accept: "text/plain" } })).text();
      expect(bySize).toBe(latest.note);
      const audit = await runCli(["verify", "--url", server.url, "--witness", state, "--public-key", logVerifierKey]);
      expect(audit.code, audit.stderr).toBe(0);
    }
  });
});
