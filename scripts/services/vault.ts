import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { ensureDir, type CacheLayout } from "./cache.js";
import { spawnDetached, stopProcess, waitUntilReady, type RecordedProcess } from "./processes.js";
import type { ServiceDriver } from "./service.js";
import type { VaultState } from "./state.js";

/**
 * HashiCorp Vault built from the Go module proxy. `go install` refuses the module (its
 * go.mod has replace directives to ./api, ./api/auth/* and ./sdk, sub-modules the module
 * zip leaves out), so the recipe rebuilds the source tree: the vault module, then each
 * sub-module at the version go.mod requires, copied where the replace directives point.
 * v1.21.4 was tagged with an sdk from its release branch that no published sdk version
 * matches: v0.20.0 lacks observation recording, v0.21.0 (the one go.mod names) changed two
 * signatures. SDK_PATCHES adapts Vault's three call sites to v0.21.0 (none touches transit's
 * signing). Vault's licence is BUSL-1.1: we build it for our own tests, never ship it.
 */
export const VAULT_VERSION = "v1.21.4";
const SUB_MODULES: Array<[module: string, version: string, dir: string]> = [
  ["github.com/hashicorp/vault/api", "v1.22.0", "api"],
  ["github.com/hashicorp/vault/api/auth/approle", "v0.1.0", "api/auth/approle"],
  ["github.com/hashicorp/vault/api/auth/userpass", "v0.1.0", "api/auth/userpass"],
  ["github.com/hashicorp/vault/api/auth/kubernetes", "v0.1.0", "api/auth/kubernetes"],
  ["github.com/hashicorp/vault/sdk", "v0.21.0", "sdk"],
];
const SDK_PATCHES: Array<[file: string, from: string, to: string]> = [
  ["vault/identity_store.go", "ActivationFunc: iStore.activateDeduplication,", "ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },"],
  ["vault/logical_system_activation_flags.go", "b.idStoreBackend.ActivationFunc(ctx, nil)", 'b.idStoreBackend.ActivationFunc(ctx, nil, "")'],
  // sdk v0.21.0's RestorePolicy does not return the restored key's name (used for an observation only).
  ["builtin/logical/transit/path_restore.go", "restoredKeyName, err := b.lm.RestorePolicy(", "restoredKeyName, err := keyName, b.lm.RestorePolicy("],
];

const run = promisify(execFile);

/** The vault binary in the Annal cache, built on first use (about 15 minutes on 2 cores with a cold Go cache). */
export async function ensureVaultBinary(layout: CacheLayout): Promise<string> {
  const versionDir = join(layout.root, "vault", VAULT_VERSION);
  const binary = join(versionDir, "vault");
  if (existsSync(binary)) return binary;
  ensureDir(versionDir);
  const src = join(versionDir, `.src-${process.pid}`);
  // GOFLAGS=-mod=mod: go.sum is complete for this tree; no vendoring, no VCS stamping.
  const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: "local" };
  const go = async (args: string[], cwd: string) => (await run("go", args, { cwd, env, maxBuffer: 256 * 1024 * 1024 })).stdout;
  const moduleDir = async (module: string, version: string) => (JSON.parse(await go(["mod", "download", "-json", `${module}@${version}`], versionDir)) as { Dir: string }).Dir;
  try {
    await run("cp", ["-R", await moduleDir("github.com/hashicorp/vault", VAULT_VERSION), src]);
    await run("chmod", ["-R", "u+w", src]); // the module cache is read-only
    for (const [module, version, dir] of SUB_MODULES) {
      const target = join(src, dir);
      rmSync(target, { recursive: true, force: true });
      ensureDir(dirname(target));
      await run("cp", ["-R", await moduleDir(module, version), target]);
      await run("chmod", ["-R", "u+w", target]);
    }
    for (const [file, from, to] of SDK_PATCHES) {
      const path = join(src, file);
      const text = readFileSync(path, "utf8");
      if (!text.includes(from)) throw new Error(`the sdk patch for ${file} no longer applies: check SUB_MODULES against vault ${VAULT_VERSION}'s go.mod`);
      writeFileSync(path, text.replace(from, to));
    }
    // Not into src: its vault/ is a package directory, and -o onto a directory writes inside it.
    const built = join(versionDir, `.vault-${process.pid}`);
    await go(["build", "-trimpath", "-o", built, "."], src);
    renameSync(built, binary);
  } catch (error) {
    const detail = error as { stderr?: string; code?: string };
    const reason = detail.code === "ENOENT" ? "go not found: install Go 1.25+, or set VAULT_ADDR and VAULT_TOKEN to an existing Vault"
      : (detail.stderr ?? (error as Error).message).trim().split("\n").filter((line) => !line.startsWith("go: downloading")).slice(-15).join("\n");
    throw new Error(`building Vault ${VAULT_VERSION} from the Go module proxy failed: ${reason}`, { cause: error });
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  return binary;
}

export interface VaultDevServer {
  addr: string;
  rootToken: string;
  process: RecordedProcess;
}

/**
 * A Vault dev server on 127.0.0.1:`port`: in memory, unsealed, with a root token of our
 * choosing (random, given by environment, never on the command line where `ps` shows it).
 * Dev mode is for tests only.
 */
export function spawnVaultDevServer(options: { binary: string; port: number; rootToken: string; log: string }): VaultDevServer {
  const process_ = spawnDetached({
    command: options.binary,
    args: ["server", "-dev", `-dev-listen-address=127.0.0.1:${options.port}`, "-dev-no-store-token"],
    log: options.log,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", VAULT_DEV_ROOT_TOKEN_ID: options.rootToken, VAULT_DISABLE_MLOCK: "true", SKIP_SETCAP: "1" },
  });
  return { addr: `http://127.0.0.1:${options.port}`, rootToken: options.rootToken, process: process_ };
}

/** Resolves when Vault is initialised, unsealed and active. */
export async function probeVault(addr: string): Promise<void> {
  const response = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) });
  if (response.status !== 200) throw new Error(`/v1/sys/health answered ${response.status}`);
}

/** `npm run services -- up vault`: a dev server for the suite; VAULT_ADDR and VAULT_TOKEN in `services env`. */
export function createVaultService(deps: { layout: CacheLayout }): ServiceDriver<VaultState> {
  const { layout } = deps;
  return {
    name: "vault",
    prepare: async () => {
      await ensureVaultBinary(layout);
    },
    async start(saved, pickPort) {
      const binary = await ensureVaultBinary(layout);
      const state: VaultState = { port: await pickPort(saved?.port), rootToken: saved?.rootToken ?? `annal-${randomBytes(18).toString("base64url")}` };
      const server = spawnVaultDevServer({ binary, port: state.port, rootToken: state.rootToken, log: join(layout.logs, "vault.log") });
      state.process = server.process;
      await waitUntilReady("vault", state.process, () => probeVault(server.addr), { timeoutMs: 60_000, stopSignal: "SIGTERM" });
      return state;
    },
    probe: (state) => probeVault(`http://127.0.0.1:${state.port}`),
    stop: (state) => (state.process ? stopProcess(state.process, "SIGTERM", 20_000) : Promise.resolve()),
    env: (state) => ({ VAULT_ADDR: `http://127.0.0.1:${state.port}`, VAULT_TOKEN: state.rootToken }),
    describe: (state) => `vault dev server http://127.0.0.1:${state.port} (${VAULT_VERSION}, in memory)`,
  };
}
