import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLedgerError } from "../../src/core/index.js";
import { openSigner } from "../../src/keys/index.js";
import { freePort } from "../../src/store/postgres/embedded.js";
import { startFakeKms } from "../support/fake-kms.js";
import { describeSignerContract } from "../support/signer-contract.js";
import { createSoftHsmToken } from "../support/softhsm.js";
import { startTestVault } from "../support/vault.js";

// One contract for every key provider (STYLE.md: one contract suite per port, every
// adapter). Real where it can run here: files, the environment, SoftHSM2 through PKCS#11,
// Vault's transit engine (built from the Go module proxy). AWS KMS cannot be reached:
// its adapter runs against test/support/fake-kms.ts, a FAKE speaking the KMS protocol.

function pem(kind: "ed25519" | "p256"): string {
  const pair = kind === "ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

function publicPem(privatePem: string): string {
  return createPublicKey(privatePem).export({ format: "pem", type: "spki" }).toString();
}

const UNKNOWN_SCHEME = { name: "unknown scheme", uri: "gcpkms:projects/p/keys/k", code: "ERR_CONFIG", retriable: false, message: /unknown signing key URI scheme/ } as const;

describeSignerContract("file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "annal-keys-"));
  const key = pem("ed25519");
  await writeFile(join(dir, "ledger.pem"), key, { mode: 0o600 });
  await writeFile(join(dir, "p256.pem"), pem("p256"), { mode: 0o600 });
  return {
    uri: `file:${join(dir, "ledger.pem")}`,
    publicKeyFromOutside: () => Promise.resolve(publicPem(key)),
    secrets: [key.split("\n")[1]!],
    failures: [
      UNKNOWN_SCHEME,
      { name: "missing file", uri: `file:${join(dir, "absent.pem")}`, code: "ERR_CONFIG", retriable: false, message: /cannot read signing key file/ },
      { name: "wrong key type", uri: `file://${join(dir, "p256.pem")}`, code: "ERR_CONFIG", retriable: false, message: /must be Ed25519/ },
    ],
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describeSignerContract("env", () => {
  const key = pem("ed25519");
  const env = { ANNAL_TEST_LEDGER_PEM: key, ANNAL_TEST_P256_PEM: pem("p256"), ANNAL_TEST_GARBAGE: "not a key at all" };
  return Promise.resolve({
    uri: "env:ANNAL_TEST_LEDGER_PEM",
    env,
    publicKeyFromOutside: () => Promise.resolve(publicPem(key)),
    secrets: [key.split("\n")[1]!, env.ANNAL_TEST_P256_PEM.split("\n")[1]!, "not a key at all"],
    failures: [
      UNKNOWN_SCHEME,
      { name: "unset variable", uri: "env:ANNAL_TEST_ABSENT", code: "ERR_CONFIG", retriable: false, message: /ANNAL_TEST_ABSENT.*not set/ },
      { name: "not a PEM", uri: "env:ANNAL_TEST_GARBAGE", code: "ERR_CONFIG", retriable: false, message: /not a PKCS#8 PEM/ },
      { name: "wrong key type", uri: "env:ANNAL_TEST_P256_PEM", code: "ERR_CONFIG", retriable: false, message: /must be Ed25519/ },
    ],
  });
});

describeSignerContract("pkcs11 (SoftHSM2)", async () => {
  const token = await createSoftHsmToken("annal-contract");
  await token.generateKey("ledger", "01");
  await token.generateKey("p256", "02", "EC:prime256v1");
  const wrongPin = "wrong-pin-7391";
  const base = `?module-path=${token.modulePath}`;
  return {
    uri: token.uri("ledger"),
    // pkcs11-tool, not Annal, reads the public key out of the token.
    publicKeyFromOutside: () => token.readPublicKeyPem("01"),
    secrets: [token.pin, wrongPin],
    failures: [
      UNKNOWN_SCHEME,
      { name: "no module-path", uri: `pkcs11:token=${token.label};object=ledger?pin-source=${token.pinFile}`, code: "ERR_CONFIG", retriable: false, message: /needs module-path/ },
      { name: "module not found", uri: `pkcs11:token=${token.label};object=ledger?module-path=/nonexistent/libpkcs11.so&pin-source=${token.pinFile}`, code: "ERR_CONFIG", retriable: false, message: /cannot load the PKCS#11 module/ },
      { name: "missing PIN", uri: `pkcs11:token=${token.label};object=ledger${base}`, code: "ERR_CONFIG", retriable: false, message: /no pin-source/ },
      { name: "wrong PIN", uri: `pkcs11:token=${token.label};object=ledger${base}&pin-value=${wrongPin}`, code: "ERR_CONFIG", retriable: false, message: /PIN is incorrect/ },
      { name: "unknown token", uri: `pkcs11:token=absent-token;object=ledger${base}&pin-source=${token.pinFile}`, code: "ERR_CONFIG", retriable: false, message: /no PKCS#11 token matches/ },
      { name: "unknown key", uri: token.uri("absent-key"), code: "ERR_CONFIG", retriable: false, message: /no private key matches/ },
      { name: "wrong key type", uri: token.uri("p256"), code: "ERR_CONFIG", retriable: false, message: /not an Ed25519 key/ },
    ],
    close: () => token.close(),
  };
});

describeSignerContract("vault-transit (real Vault)", async () => {
  const vault = await startTestVault();
  await vault.createKey("ledger", "ed25519");
  await vault.createKey("rsa", "rsa-2048");
  const closed = await freePort();
  const m = vault.mount;
  return {
    uri: `vault-transit:${m}/ledger`,
    env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.token },
    // Vault's own API (not the signer) says what the key's public half is.
    publicKeyFromOutside: async () => Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(await vault.publicKey("ledger"), "base64")]),
    secrets: [vault.token, "s.wrong-token-4410"],
    failures: [
      UNKNOWN_SCHEME,
      { name: "unknown key", uri: `vault-transit:${m}/absent`, code: "ERR_CONFIG", retriable: false, message: /Vault answered 40\d/ },
      { name: "wrong key type", uri: `vault-transit:${m}/rsa`, code: "ERR_CONFIG", retriable: false, message: /type rsa-2048: Annal signs with ed25519 keys only/ },
      { name: "bad token", uri: `vault-transit:${m}/ledger`, env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: "s.wrong-token-4410" }, code: "ERR_CONFIG", retriable: false, message: /Vault answered 403/ },
      { name: "no token", uri: `vault-transit:${m}/ledger`, env: { VAULT_ADDR: vault.addr }, code: "ERR_CONFIG", retriable: false, message: /needs a Vault token/ },
      { name: "no address", uri: `vault-transit:${m}/ledger`, env: { VAULT_TOKEN: vault.token }, code: "ERR_CONFIG", retriable: false, message: /no Vault address/ },
      { name: "unreachable", uri: `vault-transit:${m}/ledger?addr=http://127.0.0.1:${closed}`, code: "ERR_UNAVAILABLE", retriable: true, message: /did not answer/ },
    ],
    close: () => vault.close(),
  };
});

describeSignerContract("awskms (FAKE KMS: AWS is unreachable here)", async () => {
  const kms = await startFakeKms();
  const ledger = kms.addKey("ECC_NIST_EDWARDS25519", "annal-ledger");
  const p256 = kms.addKey("ECC_NIST_P256");
  const closed = await freePort();
  const env = { AWS_ACCESS_KEY_ID: kms.accessKeyId, AWS_SECRET_ACCESS_KEY: kms.secretAccessKey };
  return {
    uri: `awskms:${ledger.arn}?endpoint=${kms.endpoint}`,
    env,
    publicKeyFromOutside: () => Promise.resolve(ledger.publicKeyDer),
    secrets: [kms.secretAccessKey, "wrong-secret-key-0000000000000000000000"],
    failures: [
      UNKNOWN_SCHEME,
      { name: "not a key id", uri: "awskms:not a key", code: "ERR_CONFIG", retriable: false, message: /must name a key ARN/ },
      { name: "unknown key", uri: `awskms:alias/absent?region=${kms.region}&endpoint=${kms.endpoint}`, code: "ERR_CONFIG", retriable: false, message: /NotFoundException/ },
      { name: "wrong key type", uri: `awskms:${p256.arn}?endpoint=${kms.endpoint}`, code: "ERR_CONFIG", retriable: false, message: /ECC_NIST_EDWARDS25519/ },
      { name: "no region", uri: `awskms:alias/annal-ledger?endpoint=${kms.endpoint}`, code: "ERR_CONFIG", retriable: false, message: /no region/ },
      { name: "bad credentials", uri: `awskms:${ledger.arn}?endpoint=${kms.endpoint}`, env: { AWS_ACCESS_KEY_ID: "AKIAWRONGWRONGWRONG0", AWS_SECRET_ACCESS_KEY: "wrong-secret-key-0000000000000000000000" }, code: "ERR_CONFIG", retriable: false, message: /UnrecognizedClientException/ },
      { name: "unreachable", uri: `awskms:${ledger.arn}?endpoint=http://127.0.0.1:${closed}`, code: "ERR_UNAVAILABLE", retriable: true, message: /KMS did not answer/ },
    ],
    close: () => kms.close(),
  };
});

describe("remote signers that lose their service", () => {
  it("awskms: a Sign that gets no answer is a retriable ERR_UNAVAILABLE; one request per message, RAW ED25519_SHA_512", async () => {
    const kms = await startFakeKms();
    const { arn } = kms.addKey("ECC_NIST_EDWARDS25519");
    const signer = await openSigner(`awskms:${arn}?endpoint=${kms.endpoint}`, { noteName: "n", env: { AWS_ACCESS_KEY_ID: kms.accessKeyId, AWS_SECRET_ACCESS_KEY: kms.secretAccessKey }, timeoutMs: 1500 });
    try {
      // The fake refuses anything but MessageType RAW with ED25519_SHA_512, so this also
      // checks what the adapter sends.
      await signer.signMany([new Uint8Array(32), new Uint8Array(32).fill(7), new Uint8Array(5)]);
      expect(kms.signRequests).toBe(3);
      await kms.close();
      const error = await signer.signMany([new Uint8Array(32)]).catch((e: unknown) => e);
      expect(isLedgerError(error, "ERR_UNAVAILABLE") && error.retriable).toBe(true);
    } finally {
      await signer.close();
    }
  });

  it("vault-transit: a batch is one request with batch_input, signed by the pinned key version; Vault gone is retriable", async () => {
    const vault = await startTestVault({ own: true });
    try {
      await vault.createKey("pinned", "ed25519");
      const v1 = await vault.publicKey("pinned", 1);
      await vault.rotate("pinned");
      const signer = await openSigner(`vault-transit:${vault.mount}/pinned?version=1`, { noteName: "n", env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.token }, timeoutMs: 1500 });
      expect(Buffer.from(signer.publicKey).toString("base64")).toBe(v1);
      const latest = await openSigner(`vault-transit:${vault.mount}/pinned`, { noteName: "n", env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.token } });
      expect(Buffer.from(latest.publicKey).toString("base64")).toBe(await vault.publicKey("pinned", 2));
      await latest.close();
      const signatures = await signer.signMany(Array.from({ length: 1500 }, (_, i) => new TextEncoder().encode(`m${i}`)));
      expect(signatures).toHaveLength(1500);
      await vault.stop();
      const error = await signer.signMany([new Uint8Array(32)]).catch((e: unknown) => e);
      expect(isLedgerError(error, "ERR_UNAVAILABLE") && error.retriable).toBe(true);
      expect(String((error as Error).message)).not.toContain(vault.token);
    } finally {
      await vault.close();
    }
  });
});

describe("key URIs in configuration", () => {
  it("reads the PIN from pin-source without its trailing newline, and refuses an unreadable pin-source", async () => {
    const token = await createSoftHsmToken("annal-pin");
    try {
      await token.generateKey("k", "07");
      expect(await readFile(token.pinFile, "utf8")).toBe(`${token.pin}\n`);
      const signer = await openSigner(token.uri("k"), { noteName: "n" });
      await signer.close();
      const error = await openSigner(`pkcs11:object=k?module-path=${token.modulePath}&pin-source=${join(token.dir, "absent")}`, { noteName: "n" }).catch((e: unknown) => e);
      expect(isLedgerError(error, "ERR_CONFIG")).toBe(true);
      expect((error as Error).message).toMatch(/cannot read the PKCS#11 pin-source/);
    } finally {
      await token.close();
    }
  });
});
