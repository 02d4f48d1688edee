import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/api/serve.js";
import { createPostgresCosignatures } from "../../src/store/postgres/cosignatures.js";
import { parseCosignerVerifierKey, parseTrustedKey, verifyCheckpointNote, verifyCosignature, type TrustedKey } from "../../src/verify/index.js";
import { parseWitnessesConfig } from "../../src/witness/config.js";
import { withCosignatures } from "../../src/witness/cosigned-checkpoints.js";
import { createWitnessSubmitter } from "../../src/witness/submitter.js";
import { serveWitness } from "../../src/cli/witness-serve.js";
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
    const submitter = createWitnessSubmitter({ latestCheckpoint: () => annal.reader.latestCheckpoint(), consistencyProof: (a, b) => annal.proofs.consistencyProof(a, b), store, witnesses, logger: pino({ level: "silent" }) });
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
});
