import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inject } from "vitest";
import { ensureDir, resolveCacheLayout } from "../../scripts/services/cache.js";
import { stopProcess, waitUntilReady } from "../../scripts/services/processes.js";
import { ensureVaultBinary, probeVault, spawnVaultDevServer } from "../../scripts/services/vault.js";
import { freePort } from "../../src/store/postgres/embedded.js";

export interface TestVault {
  addr: string;
  token: string;
  /** This test's own transit mount (random path). */
  mount: string;
  createKey(name: string, type: "ed25519" | "rsa-2048" | "ecdsa-p256"): Promise<void>;
  /** base64 public key of `name` at `version` (default latest), as Vault's API returns it. */
  publicKey(name: string, version?: number): Promise<string>;
  rotate(name: string): Promise<void>;
  /** Stops the server (own servers only): what a signer sees when Vault goes away. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transit engine of this test's own on a real Vault: the suite's (global setup starts
 * it, `npm run services -- up vault`) or, with `own`, a dev server of this test that it may
 * stop. Missing Vault fails with the reason, never skips.
 */
export async function startTestVault(options: { own?: boolean } = {}): Promise<TestVault> {
  let addr: string;
  let token: string;
  let stop = () => Promise.resolve();
  if (options.own) {
    const layout = resolveCacheLayout();
    const server = spawnVaultDevServer({ binary: await ensureVaultBinary(layout), port: await freePort(), rootToken: `t-${randomBytes(12).toString("hex")}`, log: join(ensureDir(layout.logs), `vault-test-${process.pid}.log`) });
    await waitUntilReady("vault", server.process, () => probeVault(server.addr), { timeoutMs: 60_000, stopSignal: "SIGTERM" });
    ({ addr, rootToken: token } = server);
    stop = () => stopProcess(server.process, "SIGTERM", 10_000);
  } else {
    const provided = inject("annalServices").vault;
    if (!provided.ok) throw new Error(provided.reason);
    ({ addr, token } = provided);
  }
  const mount = `transit-${randomBytes(5).toString("hex")}`;
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${addr}/v1/${path}`, { method, headers: { "X-Vault-Token": token, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    if (!response.ok) throw new Error(`Vault ${method} ${path}: ${response.status} ${text}`);
    return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  };
  try {
    await call("POST", `sys/mounts/${mount}`, { type: "transit" });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    addr, token, mount,
    createKey: async (name, type) => void (await call("POST", `${mount}/keys/${name}`, { type })),
    async publicKey(name, version) {
      const data = (await call("GET", `${mount}/keys/${name}`)).data as { latest_version: number; keys: Record<string, { public_key: string }> };
      return data.keys[String(version ?? data.latest_version)]!.public_key;
    },
    rotate: async (name) => void (await call("POST", `${mount}/keys/${name}/rotate`)),
    stop,
    async close() {
      if (options.own) await stop();
      else await call("DELETE", `sys/mounts/${mount}`);
    },
  };
}
