import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createMemorySecretProvider, createVaultKvSecretProvider, openSecretProvider } from "../../src/secrets/index.js";
import { describeSecretProviderContract } from "../support/secret-provider-contract.js";
import { putKv } from "../support/fake-vault.js";
import { registerSecret } from "../support/log-capture.js";

// vault-kv: against a real Vault (the suite's: `npm run services -- up vault`, or VAULT_ADDR
// and VAULT_TOKEN). A missing Vault fails here with the reason; it is never skipped.

let addr: string;
let rootToken: string;
const mount = `kv-${randomBytes(5).toString("hex")}`;

async function vault(method: string, path: string, token: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${addr}/v1/${path}`, { method, headers: { "X-Vault-Token": token, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  if (!response.ok) throw new Error(`Vault ${method} ${path}: ${response.status} ${text}`);
  return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** A token of its own (a child of the suite's), so a test may revoke it. */
async function childToken(): Promise<string> {
  const created = await vault("POST", "auth/token/create", rootToken, { ttl: "10m", no_default_policy: false });
  const token = (created.auth as { client_token: string }).client_token;
  registerSecret("a Vault child token", token);
  return token;
}

beforeAll(async () => {
  const provided = inject("annalServices").vault;
  if (!provided.ok) throw new Error(provided.reason);
  ({ addr, token: rootToken } = provided);
  await vault("POST", `sys/mounts/${mount}`, rootToken, { type: "kv", options: { version: "2" } });
});
afterAll(async () => {
  if (addr) await vault("DELETE", `sys/mounts/${mount}`, rootToken).catch(() => undefined);
});

describeSecretProviderContract("vault-kv: on a real Vault (KV v2)", () => {
  const path = `annal/contract-${randomBytes(4).toString("hex")}`;
  let token: string;
  return {
    async open(name, value) {
      token = await childToken();
      await putKv(addr, rootToken, mount, path, { password: value });
      return createVaultKvSecretProvider(name, { address: addr, mount, path, field: "password", token: createMemorySecretProvider("VAULT_TOKEN", token), ttlMs: 0 });
    },
    rotate: (value) => putKv(addr, rootToken, mount, path, { password: value }),
    breakSource: async () => void (await vault("POST", "auth/token/revoke", rootToken, { token })),
  };
});

describe("vault-kv: URIs on a real Vault", () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), "annal-vault-kv-"))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads a field with the token from a private file, and follows a new version after the TTL", async () => {
    const tokenFile = join(dir, "vault-token");
    await writeFile(tokenFile, `${await childToken()}\n`, { mode: 0o600 });
    const first = randomBytes(18).toString("hex");
    registerSecret("vault-kv test value", first);
    await putKv(addr, rootToken, mount, "annal/db", { password: first, username: "annal" });
    const provider = openSecretProvider("ANNAL_DB_PASSWORD", `vault-kv:${mount}/annal/db?field=password&addr=${encodeURIComponent(addr)}&token=file:${tokenFile}&ttl=1`);
    expect((await provider.get()).reveal()).toBe(first);
    const second = randomBytes(18).toString("hex");
    registerSecret("vault-kv test value", second);
    await putKv(addr, rootToken, mount, "annal/db", { password: second, username: "annal" });
    expect((await provider.get()).reveal()).toBe(first); // within the TTL
    await new Promise((r) => setTimeout(r, 1100));
    expect((await provider.get()).reveal()).toBe(second);
    await expect(openSecretProvider("S", `vault-kv:${mount}/annal/db?field=absent&addr=${encodeURIComponent(addr)}&token=file:${tokenFile}`).get()).rejects.toMatchObject({ code: "ERR_CONFIG", message: expect.stringContaining('field "absent"') });
    await expect(openSecretProvider("S", `vault-kv:${mount}/annal/nothing?field=password&addr=${encodeURIComponent(addr)}&token=file:${tokenFile}`).get()).rejects.toMatchObject({ code: "ERR_CONFIG" });
  });
});
