import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureDir, type CacheLayout } from "./cache.js";
import { spawnDetached, stopProcess, waitUntilReady } from "./processes.js";
import type { ServiceDriver } from "./service.js";
import type { MinioState } from "./state.js";

/**
 * MinIO's tags (RELEASE.2025-…) are not semver, and the module proxy serves no version for
 * them, nor for a branch or a short commit: only the full pseudo-version of a commit resolves.
 * This is the head of github.com/minio/minio on 2026-02-12 (`go list -m …@latest`).
 */
export const MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c";

const run = promisify(execFile);

export interface MinioOptions {
  readyTimeoutMs?: number;
}

async function probe(state: MinioState): Promise<void> {
  // live: the process serves HTTP; ready: the drive is online and it accepts S3 requests.
  for (const check of ["live", "ready"]) {
    const response = await fetch(`http://127.0.0.1:${state.port}/minio/health/${check}`, { signal: AbortSignal.timeout(2_000) });
    if (response.status !== 200) throw new Error(`/minio/health/${check} answered ${response.status}`);
  }
}

/** MinIO built from source with `go install` (Go module proxy), one drive, which supports Object Lock. */
export function createMinioService(deps: { layout: CacheLayout }, options: MinioOptions = {}): ServiceDriver<MinioState> {
  const { layout } = deps;
  const versionDir = join(layout.root, "minio", MINIO_VERSION);
  const binary = join(versionDir, "minio");
  const dataDir = join(layout.instance, "minio", "data");
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

  async function prepare(): Promise<void> {
    if (existsSync(binary)) return;
    const gobin = join(versionDir, `.gobin-${process.pid}`);
    ensureDir(gobin);
    try {
      // GOPATH and GOMODCACHE stay the user's: Go's own caches make a rebuild after a cache wipe fast.
      await run("go", ["install", `github.com/minio/minio@${MINIO_VERSION}`], {
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false" },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      const detail = error as { stderr?: string; code?: string };
      const reason = detail.code === "ENOENT" ? "go not found: install Go 1.24+, or set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY to an existing S3 server with Object Lock"
        : (detail.stderr ?? "").trim().split("\n").filter((line) => !line.startsWith("go: downloading")).slice(-15).join("\n");
      rmSync(gobin, { recursive: true, force: true });
      throw new Error(`building MinIO ${MINIO_VERSION} with go install failed: ${reason}`, { cause: error });
    }
    renameSync(join(gobin, "minio"), binary);
    rmSync(gobin, { recursive: true, force: true });
  }

  return {
    name: "minio",
    prepare,
    async start(saved, pickPort) {
      await prepare();
      ensureDir(dataDir, 0o700);
      const state: MinioState = {
        port: await pickPort(saved?.port),
        accessKey: saved?.accessKey ?? `annal-${randomBytes(6).toString("hex")}`,
        secretKey: saved?.secretKey ?? randomBytes(24).toString("base64url"),
      };
      const consolePort = await pickPort();
      state.process = spawnDetached({
        command: binary,
        args: ["server", dataDir, "--address", `127.0.0.1:${state.port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
        log: join(layout.logs, "minio.log"),
        // Credentials by environment, never on the command line where `ps` shows them.
        env: { ...process.env, MINIO_ROOT_USER: state.accessKey, MINIO_ROOT_PASSWORD: state.secretKey,
          MINIO_BROWSER: "off", MINIO_UPDATE: "off", MINIO_CONFIG_ENV_FILE: "" },
      });
      await waitUntilReady("minio", state.process, () => probe(state), { timeoutMs: readyTimeoutMs, stopSignal: "SIGTERM" });
      return state;
    },
    probe,
    stop: (state) => (state.process ? stopProcess(state.process, "SIGTERM", 20_000) : Promise.resolve()),
    env: (state) => ({ S3_ENDPOINT: `http://127.0.0.1:${state.port}`, S3_ACCESS_KEY: state.accessKey, S3_SECRET_KEY: state.secretKey }),
    describe: (state) => `minio http://127.0.0.1:${state.port} data ${dataDir} (${MINIO_VERSION})`,
  };
}
