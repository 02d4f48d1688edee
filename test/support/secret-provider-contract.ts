import { inspect } from "node:util";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { isSecret, type SecretProvider } from "../../src/secrets/index.js";

export interface SecretProviderHarness {
  /** A provider for setting `name` whose source holds `value`; its TTL is zero, so a rotation shows at the next get(). */
  open(name: string, value: string): Promise<SecretProvider>;
  /** Changes the value at the source, as an operator rotating it does. */
  rotate(value: string): Promise<void>;
  /** Makes the source fail (unreadable, token revoked, ...), or undefined if the adapter cannot fail. */
  breakSource?: () => Promise<void>;
}

/** Everything a stray log line, error or JSON body could turn a secret into. */
function renderings(value: unknown): string[] {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const logger = pino({ level: "trace" }, sink);
  logger.info({ secret: value, nested: { value } }, "a log line with the secret in it");
  logger.info(`${String(value)}`);
  return [String(value), `${value as string}`, JSON.stringify(value), JSON.stringify({ value }), inspect(value), inspect({ value }, { depth: 5 }), new Error(`failed with ${value as string}`).message, ...lines];
}

let counter = 0;
const fresh = (label: string) => `${label}-${process.pid}-${++counter}-Xk9qT3vB7nW2`;

/**
 * The SecretProvider contract: one suite, run against every adapter (env:, file:, vault-kv:
 * and the in-memory fake). A new adapter passes this before it is wired anywhere.
 */
export function describeSecretProviderContract(adapter: string, harness: () => SecretProviderHarness): void {
  describe(`SecretProvider contract: ${adapter}`, () => {
    it("returns the source's value as an opaque Secret named after its setting", async () => {
      const value = fresh("first");
      const provider = await harness().open("ANNAL_TEST_SECRET", value);
      const secret = await provider.get();
      expect(isSecret(secret)).toBe(true);
      expect(secret.name).toBe("ANNAL_TEST_SECRET");
      expect(secret.reveal()).toBe(value);
      await provider.close();
    });

    it("never prints the value: toString, toJSON, inspect, template strings, error messages and pino lines show a mask", async () => {
      const value = fresh("masked");
      const provider = await harness().open("ANNAL_TEST_SECRET", value);
      const secret = await provider.get();
      for (const text of renderings(secret)) expect(text).not.toContain(value);
      expect(provider.source).not.toContain(value);
      // The planted check can fail: the raw value does show up in the same renderings.
      expect(renderings(value).join("\n")).toContain(value);
      await provider.close();
    });

    it("follows a rotation at the source: the next read after the TTL (zero here) and a fresh read give the new value", async () => {
      const h = harness();
      const provider = await h.open("ANNAL_TEST_SECRET", fresh("before"));
      await provider.get();
      const next = fresh("after");
      await h.rotate(next);
      expect((await provider.get()).reveal()).toBe(next);
      const third = fresh("third");
      await h.rotate(third);
      expect((await provider.get({ fresh: true })).reveal()).toBe(third);
      await provider.close();
    });

    it("fails with a LedgerError that names the setting and never carries the value when the source breaks", async () => {
      const h = harness();
      const value = fresh("broken");
      const provider = await h.open("ANNAL_TEST_SECRET", value);
      await provider.get();
      if (h.breakSource === undefined) return provider.close();
      await h.breakSource();
      const error = await provider.get({ fresh: true }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string; details?: unknown },
      );
      expect(error).toBeDefined();
      expect(error!.code).toMatch(/^ERR_/);
      expect(error!.message).toContain("ANNAL_TEST_SECRET");
      expect(`${error!.message} ${JSON.stringify(error!.details ?? null)} ${inspect(error, { depth: 5 })}`).not.toContain(value);
      await provider.close();
    });
  });
}
