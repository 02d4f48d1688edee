import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../../src/store/postgres/embedded.js";
import { appendProcessLog, processLogFile, registerHomeSecrets } from "./log-capture.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUN = `${REPO_ROOT}node_modules/.bin/bun`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `annal <args>` as a user would (bin/annal.js under Node). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO_ROOT}bin/annal.js`, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    // Copied to the run's logs: the teardown scans every CLI's output for secrets too.
    const log = processLogFile(`cli-${args[0] ?? ""}`);
    child.stdout.on("data", (d: Buffer) => (appendProcessLog(log, d), (stdout += d.toString())));
    child.stderr.on("data", (d: Buffer) => (appendProcessLog(log, d), (stderr += d.toString())));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  url: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown hooks, no draining. */
  kill(): Promise<void>;
}

/**
 * Starts `annal serve` in a child process (Node by default, or Bun) and waits until it
 * answers /readyz. `ANNAL_AUTH` is required so every test states whether it runs with
 * authentication (`oidc`) or explicitly without (`off`).
 */
export async function startServerProcess(env: Record<string, string> & { ANNAL_AUTH: "off" | "oidc" }, runtime: "node" | "bun" = "node", runtimeArgs: readonly string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const command = runtime === "node" ? process.execPath : BUN;
  const args = [...runtimeArgs, ...(runtime === "node" ? [`${REPO_ROOT}bin/annal.js`, "serve"] : [`${REPO_ROOT}src/cli/main.ts`, "serve"])];
  // Everything it logs (trace and up, access log included) is copied to the run's logs for the teardown's secret scan.
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ANNAL_PORT: String(port), ANNAL_LOG_LEVEL: "trace", ANNAL_ACCESS_LOG: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log = processLogFile(`serve-${runtime}`);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (appendProcessLog(log, d), (output += d.toString())));
  child.stderr.on("data", (d: Buffer) => (appendProcessLog(log, d), (output += d.toString())));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`annal serve (${runtime}) exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) {
      if (env.ANNAL_HOME) registerHomeSecrets(env.ANNAL_HOME);
      break;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`annal serve (${runtime}) not ready after 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
