import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyIdOf } from "../../../src/core/index.js";
import { loadSignerUri } from "../../../src/keys/index.js";

// ANNAL_NEXT_SIGNING_KEY's loader: `file:` only until the KeyProvider port's openSigner replaces it.
describe("loadSignerUri", () => {
  let dir: string;
  let path: string;
  let keyId: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "annal-next-key-"));
    path = join(dir, "next key.pem");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    await writeFile(path, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    keyId = keyIdOf(new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url")));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("opens a PKCS#8 file named as file:/path or as a file:// URL", async () => {
    for (const uri of [`file:${path}`, pathToFileURL(path).href]) {
      const signer = await loadSignerUri(uri, { noteName: "ledger.example/test" });
      expect(signer.keyId).toBe(keyId);
      expect(signer.noteName).toBe("ledger.example/test");
      await signer.close();
    }
  });

  it("refuses other schemes, an empty path and a missing file with ERR_CONFIG", async () => {
    await expect(loadSignerUri("pkcs11:token=annal", { noteName: "x" })).rejects.toMatchObject({ code: "ERR_CONFIG" });
    await expect(loadSignerUri("file:", { noteName: "x" })).rejects.toMatchObject({ code: "ERR_CONFIG" });
    await expect(loadSignerUri(`file:${join(dir, "absent.pem")}`, { noteName: "x" })).rejects.toMatchObject({ code: "ERR_CONFIG" });
  });
});
