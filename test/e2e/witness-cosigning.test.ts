import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogger } from "../support/log-capture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/api/serve.js";
import { createPostgresCosignatures } from "../../src/store/postgres/cosignatures.js";
import { parseCosignerVerifierKey, parseTrustedKey, verifyCheckpointNote, verifyCosignature, type TrustedKey } from "../../src/verify/index.js";
import { parseWitnessesConfig } from "../../src/witness/config.js";
import { withCosignatures } from "../../src/witness/cosigned-checkpoints.js";
import { createWitnessSubmitter } from "../../src/witness/submitter.js";
import { serveWitness } from "../../src/cli/witness-serve.js";
import { Registry } from "prom-client";
import { createApp } from "../../src/api/index.js";
import { createAuthOff } from "../../src/auth/index.js";
import { checkWitness } from "../../src/cli/witness-check.js";
import { formatCosignerVerifierKey } from "../../src/verify/cosignature.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// A real ledger and a real witness process-in-process over HTTP: every checkpoint the
// ledger commits is submitted after commit, cosigned, stored and served in the note.

let annal: TestAnnal;
let witness: RunningServer & { verifierKey: string };
let dir: string;

beforeAll(async () => {
  annal = await startTestAnnal();
  dir = await mkdtemp(join(tmpdir(), "annal-witness-e2e-"));
  const logKey = (await annal.reader.publicKeys())[0]!.noteVerifierKey;
  witness = await serveWitness({ name: "witness.test/w1", keyFile: join(dir, "witness.pem"), stateDir: join(dir, "state"), logs: [logKey], host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await witness?.close();
  await annal?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("witness cosigning from the ledger", () => {
  it("cosigns successive checkpoints; the served note carries a cosignature that verifies", async () => {
    const witnesses = parseWitnessesConfig(JSON.stringify([{ url: witness.url, verifierKey: witness.verifierKey }]));
    const store = createPostgresCosignatures(annal.pool);
    const submitter = createWitnessSubmitter({ latestCheckpoint: () => annal.reader.latestCheckpoint(), consistencyProof: (a, b) => annal.proofs.consistencyProof(a, b), store, witnesses, logger: captureLogger("witness-cosigning") });
    const served = withCosignatures(annal.reader, annal.proofs, store);
    const logKey = parseTrustedKey((await annal.reader.publicKeys())[0]!.noteVerifierKey) as TrustedKey;
    const cosigner = parseCosignerVerifierKey(witness.verifierKey)!;
    const stream = randomName("witnessed");
    for (const count of [2, 3, 1, 4]) {
      await annal.ledger.append({ streamId: stream, events: Array.from({ length: count }, () => ({ type: "ThingHappened", data: {} })) });
      submitter.notify();
      await submitter.flush();
      const latest = (await served.reader.latestCheckpoint())!;
      expect(verifyCheckpointNote(latest.note, logKey).ok).toBe(true);
      expect(verifyCosignature(latest.note, cosigner)).toMatchObject({ ok: true });
      const bySize = (await served.proofs.checkpointAt(latest.treeSize))!;
      expect(bySize.note).toBe(latest.note);
    }
    await submitter.close();
  });

  it("annal verify --witness checks cosignatures against the witness keys given and a quorum", async () => {
    const store = createPostgresCosignatures(annal.pool);
    const served = withCosignatures(annal.reader, annal.proofs, store);
    // The served API, in process: checkWitness reads /keys, /checkpoints/latest and proofs from it.
    const app = createApp({ ledger: annal.ledger, reader: served.reader, proofs: served.proofs, ready: annal.ready, logger: captureLogger("witness-cosigning"), metrics: new Registry(), access: createAuthOff() });
    const viaApp: typeof fetch = (input, init) => Promise.resolve(app.request(input instanceof Request ? input : input.toString(), init));
    const publicKey = (await annal.reader.publicKeys())[0]!.noteVerifierKey;
    const cosigner = parseCosignerVerifierKey(witness.verifierKey)!;
    const stranger = { name: "witness.test/w2", publicKey: new Uint8Array(32).fill(3) };
    expect(parseCosignerVerifierKey(formatCosignerVerifierKey(stranger.name, stranger.publicKey))).toBeDefined();
    const check = (name: string, witnesses: { keys: (typeof cosigner)[]; quorum: number }) =>
      checkWitness({ url: "http://annal.test", stateFile: join(dir, `${name}.json`), publicKey, witnesses, fetch: viaApp });

    expect(await check("one", { keys: [cosigner], quorum: 1 })).toMatchObject({ ok: true, status: "first" });
    expect(await check("listed-twice", { keys: [cosigner, cosigner], quorum: 2 })).toMatchObject({ ok: false, problem: "witness-quorum" });
    expect(await check("two", { keys: [cosigner, stranger], quorum: 2 })).toMatchObject({ ok: false, problem: "witness-quorum", reason: expect.stringContaining("1 valid") });
    expect(await check("stranger", { keys: [stranger], quorum: 1 })).toMatchObject({ ok: false, problem: "witness-quorum" });
    await expect(check("zero", { keys: [cosigner], quorum: 0 })).rejects.toThrow(/quorum/);
  });
});
