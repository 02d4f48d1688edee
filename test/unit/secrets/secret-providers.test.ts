import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEnvSecretProvider,
  createFileSecretProvider,
  createMemorySecretProvider,
  createVaultKvSecretProvider,
  openSecretProvider,
  type MemorySecretProvider,
} from "../../../src/secrets/index.js";
import { describeSecretProviderContract } from "../../support/secret-provider-contract.js";
import { putKv, startFakeVault, type FakeVault } from "../../support/fake-vault.js";

let dir: string;
let vault: FakeVault;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annal-secrets-"));
  vault = await startFakeVault(randomBytes(12).toString("hex"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await vault.close();
});

describeSecretProviderContract("memory (the fake)", () => {
  let provider: MemorySecretProvider;
  return {
    open: (name, value) => Promise.resolve((provider = createMemorySecretProvider(name, value))),
    rotate: (value) => Promise.resolve(provider.set(value)),
    breakSource: () => provider.close(),
  };
});

describeSecretProviderContract("env:", () => {
  const env: Record<string, string | undefined> = {};
  return {
    open: (name, value) => Promise.resolve(((env.TEST_SECRET = value), createEnvSecretProvider(name, "TEST_SECRET", env))),
    rotate: (value) => Promise.resolve(void (env.TEST_SECRET = value)),
    breakSource: () => Promise.resolve(void delete env.TEST_SECRET),
  };
});

describeSecretProviderContract("file:", () => {
  const path = () => join(dir, `contract-${process.pid}`);
  return {
    async open(name, value) {
      await writeFile(path(), `${value}\n`, { mode: 0o600 });
      return createFileSecretProvider(name, path(), { checkIntervalMs: 0 });
    },
    // Replaced by rename, as Kubernetes and `install -m 600` do.
    async rotate(value) {
      await writeFile(`${path()}.new`, value, { mode: 0o600 });
      await rename(`${path()}.new`, path());
    },
    breakSource: () => chmod(path(), 0o644),
  };
});

describeSecretProviderContract("vault-kv: (against a KV v2 stand-in; the real Vault runs in test/integration/vault-kv.test.ts)", () => {
  const path = `annal/contract-${randomBytes(4).toString("hex")}`;
  const env: Record<string, string | undefined> = {};
  return {
    async open(name, value) {
      await putKv(vault.address, vault.token, "secret", path, { password: value });
      env.VAULT_TOKEN = vault.token;
      return createVaultKvSecretProvider(name, { address: vault.address, mount: "secret", path, field: "password", token: createEnvSecretProvider("VAULT_TOKEN", "VAULT_TOKEN", env), ttlMs: 0 });
    },
    rotate: (value) => putKv(vault.address, vault.token, "secret", path, { password: value }),
    breakSource: () => Promise.resolve(vault.revokeToken()),
  };
});

describe("file: refuses files others could read, and what is not a file", () => {
  it.each([0o644, 0o640, 0o604, 0o620, 0o660])("refuses mode %o, naming the setting and the mode", async (mode) => {
    const path = join(dir, `mode-${mode.toString(8)}`);
    await writeFile(path, "Vr8mQ2xK9pL4nT7w");
    await chmod(path, mode);
    await expect(createFileSecretProvider("ANNAL_DB_PASSWORD", path).get()).rejects.toMatchObject({ code: "ERR_CONFIG", message: expect.stringMatching(/ANNAL_DB_PASSWORD.*group or others.*mode 6/) });
  });

  it("accepts 0600 and 0400, and a symlink to such a file (Kubernetes mounts them so)", async () => {
    const target = join(dir, "private");
    await writeFile(target, "Vr8mQ2xK9pL4nT7w\n", { mode: 0o400 });
    await symlink(target, join(dir, "link"));
    expect((await createFileSecretProvider("S", join(dir, "link")).get()).reveal()).toBe("Vr8mQ2xK9pL4nT7w");
  });

  it("refuses a directory and an empty file", async () => {
    await mkdir(join(dir, "a-directory"), { mode: 0o700 });
    await expect(createFileSecretProvider("S", join(dir, "a-directory")).get()).rejects.toThrow(/not a regular file/);
    await writeFile(join(dir, "empty"), "\n", { mode: 0o600 });
    await expect(createFileSecretProvider("S", join(dir, "empty")).get()).rejects.toThrow(/is empty/);
  });

  it("re-reads only when the file changed, at most once per check interval", async () => {
    const path = join(dir, "interval");
    await writeFile(path, "one-Vr8mQ2xK9pL4n", { mode: 0o600 });
    let now = 0;
    const provider = createFileSecretProvider("S", path, { checkIntervalMs: 1000, now: () => now });
    expect((await provider.get()).reveal()).toBe("one-Vr8mQ2xK9pL4n");
    await writeFile(`${path}.new`, "two-Vr8mQ2xK9pL4n", { mode: 0o600 });
    await rename(`${path}.new`, path);
    now = 999;
    expect((await provider.get()).reveal()).toBe("one-Vr8mQ2xK9pL4n");
    now = 1000;
    expect((await provider.get()).reveal()).toBe("two-Vr8mQ2xK9pL4n");
  });

  it("notices a chmod that opens the file to others", async () => {
    const path = join(dir, "opened-later");
    await writeFile(path, "Vr8mQ2xK9pL4nT7w", { mode: 0o600 });
    const provider = createFileSecretProvider("S", path, { checkIntervalMs: 0 });
    await provider.get();
    await chmod(path, 0o644);
    await expect(provider.get()).rejects.toThrow(/group or others/);
  });
});

describe("vault-kv: caches for its TTL", () => {
  it("asks Vault once within the TTL and again after it", async () => {
    vault.restoreToken();
    await putKv(vault.address, vault.token, "secret", "annal/ttl", { password: "Vr8mQ2xK9pL4nT7w" });
    let now = 0;
    const provider = createVaultKvSecretProvider("S", { address: vault.address, mount: "secret", path: "annal/ttl", field: "password", token: createMemorySecretProvider("T", vault.token), ttlMs: 60_000, now: () => now });
    const before = vault.requests;
    await provider.get();
    await provider.get();
    expect(vault.requests - before).toBe(1);
    now = 60_000;
    await provider.get();
    expect(vault.requests - before).toBe(2);
  });
});

describe("secret URIs", () => {
  it("opens env:, file: and vault-kv: and names their source without the value", () => {
    expect(openSecretProvider("S", "env:PGPASSWORD", { env: {} }).source).toBe("env:PGPASSWORD");
    expect(openSecretProvider("S", "file:///run/secrets/db").source).toBe("file:/run/secrets/db");
    expect(openSecretProvider("S", "file:/run/secrets/db").source).toBe("file:/run/secrets/db");
    expect(openSecretProvider("S", "vault-kv:secret/annal/db?field=password&ttl=30", { env: { VAULT_ADDR: "https://vault.example.com:8200" } }).source).toBe(
      "vault-kv:secret/annal/db?field=password at https://vault.example.com:8200",
    );
  });

  it("refuses a value pasted where a URI belongs, and a Vault token that would come from Vault", () => {
    expect(() => openSecretProvider("ANNAL_DB_PASSWORD", "hunter2-Vr8mQ2xK9pL4n")).toThrow(/ANNAL_DB_PASSWORD must be a secret URI/);
    expect(() => openSecretProvider("ANNAL_DB_PASSWORD", "hunter2-Vr8mQ2xK9pL4n")).not.toThrow(/hunter2/);
    expect(() => openSecretProvider("S", "vault-kv:secret/x?field=p&token=vault-kv:secret/t?field=t", { env: { VAULT_ADDR: "http://127.0.0.1:1" } })).toThrow(/env: or file:/);
    expect(() => openSecretProvider("S", "vault-kv:secret?field=p", { env: { VAULT_ADDR: "http://127.0.0.1:1" } })).toThrow(/<mount>\/<path>/);
    expect(() => openSecretProvider("S", "vault-kv:secret/x?field=p", { env: {} })).toThrow(/VAULT_ADDR/);
  });
});
