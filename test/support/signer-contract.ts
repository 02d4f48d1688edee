import { createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyIdOf, LedgerError } from "../../src/core/index.js";
import { openSigner, type Signer } from "../../src/keys/index.js";

/** One way a provider must fail: the URI (and env) to open, and what the error must say. */
export interface SignerFailure {
  name: string;
  uri: string;
  env?: Record<string, string | undefined>;
  code: "ERR_CONFIG" | "ERR_UNAVAILABLE";
  retriable: boolean;
  /** The message must match this (what is wrong, said plainly). */
  message: RegExp;
}

export interface SignerContractSubject {
  uri: string;
  env?: Record<string, string | undefined>;
  /** The public key as obtained WITHOUT Annal (pkcs11-tool, Vault's API, the key file…), as PEM or DER SPKI. */
  publicKeyFromOutside: () => Promise<string | Uint8Array>;
  failures: SignerFailure[];
  /** Strings that must appear in no error message (PINs, tokens, secret keys). */
  secrets: string[];
}

function publicKeyObject(raw: Uint8Array) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}

/**
 * The Signer contract, run against every key provider (file, env, pkcs11, vault-transit,
 * awskms): the published public key is the provider's, every signature verifies with it
 * (locally, never through the provider), in the order given, and failures are clear
 * LedgerErrors that never carry a secret.
 */
export function describeSignerContract(name: string, setup: () => Promise<SignerContractSubject & { close?: () => Promise<void> }>): void {
  describe(`Signer contract: ${name}`, () => {
    let subject: SignerContractSubject & { close?: () => Promise<void> };
    let signer: Signer;

    beforeAll(async () => {
      subject = await setup();
      signer = await openSigner(subject.uri, { noteName: "annal.test/contract", signWorkers: 2, ...(subject.env ? { env: subject.env } : {}) });
    }, 60_000);
    afterAll(async () => {
      await signer?.close();
      await subject?.close?.();
    });

    it("publishes the provider's own public key, and keyId is derived from it", async () => {
      const outside = await subject.publicKeyFromOutside();
      const key = typeof outside === "string" ? createPublicKey(outside) : createPublicKey({ key: Buffer.from(outside), format: "der", type: "spki" });
      const x = key.export({ format: "jwk" }).x;
      expect(Buffer.from(signer.publicKey).toString("base64url")).toBe(x);
      expect(signer.keyId).toBe(keyIdOf(signer.publicKey));
      expect(signer.noteName).toBe("annal.test/contract");
      expect(signer.development).toBe(false);
    });

    it("signs a batch in order: each signature verifies for its own message only", async () => {
      // What the ledger sends: event hashes (32 bytes) then a checkpoint body; more than the
      // 128 from which a file key shares the batch between its workers and the caller's thread.
      const messages = Array.from({ length: 300 }, (_, i) => new Uint8Array(32).fill(i % 256).map((b, j) => (j === 0 ? i >> 8 : b)));
      messages.push(new TextEncoder().encode("annal.test/contract\n301\nAAAA\n"));
      const signatures = await signer.signMany(messages);
      expect(signatures).toHaveLength(messages.length);
      const key = publicKeyObject(signer.publicKey);
      signatures.forEach((signature, i) => {
        expect(signature).toHaveLength(64);
        expect(verify(null, messages[i]!, key, signature)).toBe(true);
        expect(verify(null, messages[(i + 1) % messages.length]!, key, signature)).toBe(false);
      });
    });

    it("answers an empty batch with no signatures, and a batch of one", async () => {
      expect(await signer.signMany([])).toEqual([]);
      const [one] = await signer.signMany([new Uint8Array([1, 2, 3])]);
      expect(verify(null, new Uint8Array([1, 2, 3]), publicKeyObject(signer.publicKey), one!)).toBe(true);
    });

    it("signs concurrent batches, each in its own order", async () => {
      const batches = [0, 1, 2].map((b) => Array.from({ length: 12 }, (_, i) => new TextEncoder().encode(`batch ${b} message ${i}`)));
      const results = await Promise.all(batches.map((batch) => signer.signMany(batch)));
      const key = publicKeyObject(signer.publicKey);
      results.forEach((signatures, b) => signatures.forEach((s, i) => expect(verify(null, batches[b]![i]!, key, s)).toBe(true)));
    });

    it("fails with clear LedgerErrors that carry no secret", async () => {
      expect(subject.failures.length).toBeGreaterThan(0);
      for (const failure of subject.failures) {
        const error = await openSigner(failure.uri, { noteName: "annal.test/contract", timeoutMs: 1500, ...(failure.env ?? subject.env ? { env: failure.env ?? subject.env } : {}) }).then(
          async (opened) => {
            await opened.close();
            return new Error(`${failure.name}: opened`);
          },
          (e: unknown) => e,
        );
        expect(error, failure.name).toBeInstanceOf(LedgerError);
        const ledgerError = error as LedgerError;
        expect({ name: failure.name, code: ledgerError.code, retriable: ledgerError.retriable }).toEqual({ name: failure.name, code: failure.code, retriable: failure.retriable });
        expect(ledgerError.message, failure.name).toMatch(failure.message);
        const text = `${ledgerError.message} ${JSON.stringify(ledgerError.details ?? {})}`;
        for (const secret of subject.secrets) expect(text, `${failure.name} leaks a secret`).not.toContain(secret);
      }
    }, 60_000);
  });
}
