import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/api/serve.js";
import { serveWitness } from "../../src/cli/witness-serve.js";
import { formatVerifierKey } from "../../src/core/index.js";
import type { CheckpointView } from "../../src/ledger/types.js";
import { formatCosignerVerifierKey, parseCosignerVerifierKey, verifyCosignature } from "../../src/verify/index.js";
import { startFakeKms, type FakeKms } from "../support/fake-kms.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createTestDatabase, randomName } from "../support/services.js";

// A witness whose cosigning key lives in a KMS (`annal witness --key awskms:…`): it signs
// about one checkpoint a second, one KMS call each, which a KMS sustains. AWS is
// unreachable here: the KMS is test/support/fake-kms.ts, a FAKE speaking its protocol.
const ORIGIN = "ledger.test/kms-witnessed";
let kms: FakeKms;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let witness: RunningServer & { verifierKey: string };
let server: ServerProcess;
let kmsPublicKey: Uint8Array;

beforeAll(async () => {
  kms = await startFakeKms();
  const key = kms.addKey("ECC_NIST_EDWARDS25519", "annal-witness");
  kmsPublicKey = key.publicKeyDer.slice(-32);
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "annal-witness-kms-"));
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  await writeFile(join(dir, "ledger.pem"), privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  const logVerifierKey = formatVerifierKey(ORIGIN, new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url")));
  witness = await serveWitness({
    name: "witness.test/kms", key: `awskms:alias/annal-witness?region=${kms.region}&endpoint=${kms.endpoint}`,
    env: { AWS_ACCESS_KEY_ID: kms.accessKeyId, AWS_SECRET_ACCESS_KEY: kms.secretAccessKey },
    stateDir: join(dir, "witness-state"), logs: [logVerifierKey], host: "127.0.0.1", port: 0,
  });
  server = await startServerProcess({
    ANNAL_AUTH: "off", DATABASE_URL: db.url, ANNAL_HOME: join(dir, "home"), ANNAL_ORIGIN: ORIGIN,
    ANNAL_SIGNING_KEY: `file:${join(dir, "ledger.pem")}`,
    ANNAL_WITNESSES: JSON.stringify([{ url: witness.url, verifierKey: witness.verifierKey }]),
  });
});
afterAll(async () => {
  await server?.stop();
  await witness?.close();
  await kms?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("annal witness with its key in a KMS", () => {
  it("publishes the KMS key as its cosigner key, and its cosignatures verify", async () => {
    expect(witness.verifierKey).toBe(formatCosignerVerifierKey("witness.test/kms", kmsPublicKey));
    const response = await fetch(`${server.url}/streams/${randomName("k")}/events`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ events: [{ type: "ThingHappened", data: {} }] }),
    });
    expect(response.status).toBe(201);
    const cosigner = parseCosignerVerifierKey(witness.verifierKey)!;
    let latest: CheckpointView | undefined;
    for (let i = 0; i < 100 && !(latest && verifyCosignature(latest.note, cosigner).ok); i++) {
      await new Promise((r) => setTimeout(r, 100));
      latest = (await (await fetch(`${server.url}/checkpoints/latest`)).json()) as CheckpointView;
    }
    expect(verifyCosignature(latest!.note, cosigner).ok, server.output()).toBe(true);
    expect(kms.signRequests).toBeGreaterThan(0);
  });
});
