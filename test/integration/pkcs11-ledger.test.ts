import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyIdOf } from "../../src/core/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { createSoftHsmToken, type SoftHsmToken } from "../support/softhsm.js";

const run = promisify(execFile);

// The must-show of PKCS#11: a SoftHSM2 token initialised here, an Ed25519 key generated in
// it by pkcs11-tool, Annal appending with ANNAL_SIGNING_KEY=pkcs11:…, and every event and
// checkpoint signature checked by tools we did not write: pkcs11-tool reads the public key
// out of the token, OpenSSL verifies.
describe("a ledger signing with an Ed25519 key in SoftHSM2", () => {
  let token: SoftHsmToken;
  let annal: TestAnnal;
  let work: string;
  let publicPem: string;

  beforeAll(async () => {
    token = await createSoftHsmToken("annal-ledger");
    await token.generateKey("ledger-key", "a1");
    annal = await startTestAnnal({ ANNAL_SIGNING_KEY: token.uri("ledger-key"), ANNAL_ORIGIN: "annal.test/pkcs11", ANNAL_SIGN_WORKERS: "2" });
    work = await mkdtemp(join(tmpdir(), "annal-pkcs11-verify-"));
    publicPem = await token.readPublicKeyPem("a1");
    await writeFile(join(work, "public.pem"), publicPem);
  });
  afterAll(async () => {
    await annal?.close();
    await token?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function opensslVerifies(message: Uint8Array, signature: Uint8Array, name: string): Promise<boolean> {
    await writeFile(join(work, `${name}.msg`), message);
    await writeFile(join(work, `${name}.sig`), signature);
    try {
      const { stdout } = await run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", join(work, "public.pem"), "-rawin", "-in", join(work, `${name}.msg`), "-sigfile", join(work, `${name}.sig`)]);
      return stdout.includes("Signature Verified Successfully");
    } catch {
      return false;
    }
  }

  it("signs every event and every checkpoint with the HSM's key, as pkcs11-tool and OpenSSL confirm", async () => {
    // Concurrent appends, so batches hold several requests.
    const receipts = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      annal.ledger.append({ streamId: `hsm-${i % 4}`, principal: "tester", events: [{ type: "Noted", data: { i } }, { type: "Noted", data: { i, second: true } }] })));
    expect(receipts.flatMap((r) => r.events)).toHaveLength(48);

    // The key Annal publishes is the token's, as pkcs11-tool read it.
    const der = (await run("openssl", ["pkey", "-pubin", "-in", join(work, "public.pem"), "-outform", "DER"], { encoding: "buffer" })).stdout;
    const raw = new Uint8Array(der.subarray(der.length - 32));
    expect(annal.signer.keyId).toBe(keyIdOf(raw));

    const events = await annal.reader.readAll({ fromPosition: 1, limit: 100 });
    expect(events).toHaveLength(48);
    for (const event of events) {
      expect(event.keyId).toBe(keyIdOf(raw));
      expect(await opensslVerifies(Buffer.from(event.hash, "base64"), Buffer.from(event.signature, "base64"), `event-${event.position}`), `event ${event.position}`).toBe(true);
    }
    // A flipped byte fails: the check can fail.
    const first = events[0]!;
    const forged = Buffer.from(first.signature, "base64");
    forged[10] = forged[10]! ^ 1;
    expect(await opensslVerifies(Buffer.from(first.hash, "base64"), forged, "forged")).toBe(false);

    const checkpoints = await annal.reader.checkpointsUpTo(48);
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const checkpoint of checkpoints) {
      // C2SP signed note, parsed here by hand: body, blank line, "— <name> base64(keyhash[4] || signature[64])".
      const split = checkpoint.note.indexOf("\n\n");
      const body = checkpoint.note.slice(0, split + 1);
      const line = checkpoint.note.slice(split + 2).split("\n").find((l) => l.startsWith("— annal.test/pkcs11 "));
      expect(line, `checkpoint ${checkpoint.treeSize}`).toBeDefined();
      const blob = Buffer.from(line!.split(" ")[2]!, "base64");
      expect(await opensslVerifies(Buffer.from(body, "utf8"), blob.subarray(4), `checkpoint-${checkpoint.treeSize}`), `checkpoint ${checkpoint.treeSize}`).toBe(true);
    }
  });
});
