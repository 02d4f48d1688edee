import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A detached process we started, identified by pid and its kernel start time (guards against pid reuse). */
export interface RecordedProcess {
  pid: number;
  startTime: string | null;
  log: string;
}

export interface SpawnDetachedOptions {
  command: string;
  args: string[];
  log: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/**
 * Starts a process in its own process group, stdout and stderr appended to `log`, and lets
 * it outlive this Node process: services must survive the CLI that started them.
 */
export function spawnDetached(options: SpawnDetachedOptions): RecordedProcess {
  const fd = openSync(options.log, "a");
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    });
    child.on("error", () => undefined); // surfaced by the readiness check, with the log tail
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${options.command}: see ${options.log}`);
    return { pid: child.pid, startTime: readStartTime(child.pid), log: options.log };
  } finally {
    closeSync(fd);
  }
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; null where /proc is absent. */
export function readStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** True while the recorded process (same pid and same start time) is running. */
export function isRunning(proc: Pick<RecordedProcess, "pid" | "startTime">): boolean {
  try {
    process.kill(proc.pid, 0);
  } catch {
    return false;
  }
  if (isZombie(proc.pid)) return false;
  const now = readStartTime(proc.pid);
  return proc.startTime === null || now === null || now === proc.startTime;
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Stops a recorded process and its process group: `signal` first, SIGKILL after `graceMs`.
 * Resolves only once the pid is gone, so `down` can promise no process is left behind.
 */
export async function stopProcess(proc: RecordedProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 20_000): Promise<void> {
  if (!isRunning(proc)) return;
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-proc.pid, sig); // the group: postgres backends, JVM helpers
    } catch {
      try {
        process.kill(proc.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  kill(signal);
  const deadline = Date.now() + graceMs;
  while (isRunning(proc) && Date.now() < deadline) await sleep(100);
  if (isRunning(proc)) {
    kill("SIGKILL");
    const hard = Date.now() + 5_000;
    while (isRunning(proc) && Date.now() < hard) await sleep(100);
  }
  if (isRunning(proc)) throw new Error(`pid ${proc.pid} survived SIGKILL; stop it by hand`);
}

/** True when 127.0.0.1:port can be bound right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolveFree(true)));
  });
}

/** A free loopback port: the preferred one when still free (stable URLs across restarts), else one the kernel picks. */
export async function pickPort(preferred?: number, avoid: number[] = []): Promise<number> {
  if (preferred && !avoid.includes(preferred) && (await isPortFree(preferred))) return preferred;
  for (;;) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
        const address = server.address();
        const picked = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolvePort(picked));
      });
    });
    if (!avoid.includes(port)) return port;
  }
}

/** The last lines of a log file, for error messages that show why a service did not come up. */
export function tailLog(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Polls `probe` until it resolves, the process dies or the deadline passes; the error names the
 * service, the last probe error and the log tail, which is where the reason usually is.
 */
export async function waitUntilReady(
  name: string,
  proc: RecordedProcess,
  probe: () => Promise<void>,
  options: { timeoutMs: number; stopSignal: NodeJS.Signals; isPermanent?: (error: unknown) => boolean },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  let failure: string | undefined;
  while (failure === undefined) {
    if (!isRunning(proc)) {
      failure = `${name} exited during start-up (pid ${proc.pid})`;
      break;
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      if (options.isPermanent?.(error)) failure = `${name} answered but refused us (${(error as Error).message})`;
    }
    if (Date.now() > deadline) failure = `${name} not ready after ${options.timeoutMs / 1000}s (${lastError instanceof Error ? lastError.message : String(lastError)})`;
    else await sleep(250);
  }
  // A server that never became ready must not outlive the attempt: nobody has its pid.
  await stopProcess(proc, options.stopSignal, 10_000).catch(() => undefined);
  throw new Error(`${failure}. Log ${proc.log}:\n${tailLog(proc.log)}`);
}
