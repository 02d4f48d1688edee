import { createPrivateKey } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import type { KnownSecret } from "./log-scan.js";

// Every server a test starts logs here, at trace level, whatever the test asks to see: the
// global teardown (global-setup.ts) scans all of it for every secret the run configured
// (test/unit/secrets/log-scan.test.ts shows the scan finds a planted one).

let counter = 0;

// Only inside vitest: the benchmark (scripts/bench) starts servers through this module too,
// and importing vitest outside its runner throws.
const inject = process.env.VITEST ? (await import("vitest")).inject : undefined;

function runDir(): string | undefined {
  if (inject === undefined) return undefined;
  try {
    return inject("annalLogDir");
  } catch {
    return undefined;
  }
}

function fileFor(kind: string, label: string): string | undefined {
  const dir = runDir();
  if (dir === undefined) return undefined;
  mkdirSync(join(dir, "logs"), { recursive: true });
  return join(dir, "logs", `${kind}-${process.pid}-${++counter}-${label.replace(/[^a-z0-9-]+/gi, "-")}.log`);
}

/**
 * A logger for a server in this test run: everything (trace and up) to the run's log
 * directory; also to stdout at ANNAL_TEST_LOG's level when set (debugging a test).
 */
export function captureLogger(label: string): Logger {
  const file = fileFor("inproc", label);
  const shown = process.env.ANNAL_TEST_LOG;
  if (file === undefined) return pino({ level: shown ?? "silent" });
  // Synchronous: a worker that exits right after its last test loses nothing.
  const streams: pino.StreamEntry[] = [{ level: "trace", stream: pino.destination({ dest: file, sync: true }) }];
  if (shown !== undefined && shown !== "silent") streams.push({ level: shown as pino.Level, stream: process.stdout });
  return pino({ level: "trace" }, pino.multistream(streams));
}

/** Where a child process's stdout and stderr are copied (undefined outside the services project). */
export function processLogFile(label: string): string | undefined {
  return fileFor("process", label);
}

export function appendProcessLog(file: string | undefined, chunk: Buffer): void {
  if (file !== undefined) appendFileSync(file, chunk);
}

/** Declares a secret the run must never log (the teardown looks for it in every captured log). */
export function registerSecret(label: string, value: string | undefined): void {
  const dir = runDir();
  if (dir === undefined || value === undefined || value === "") return;
  mkdirSync(join(dir, "secrets"), { recursive: true, mode: 0o700 });
  const entry: KnownSecret = { label, value };
  appendFileSync(join(dir, "secrets", `${process.pid}.jsonl`), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/** The secrets a server's ANNAL_HOME holds: dev client secrets and the dev signing key. */
export function registerHomeSecrets(home: string): void {
  try {
    const clients = JSON.parse(readFileSync(join(home, "dev-clients.json"), "utf8")) as Array<{ clientId: string; clientSecret: string }>;
    for (const c of clients) registerSecret(`dev client secret of ${c.clientId}`, c.clientSecret);
  } catch {
    // no embedded issuer in this server
  }
  try {
    const pem = readFileSync(join(home, "dev-signing-key.pem"), "utf8");
    const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----")).join("");
    registerSecret("dev signing key (PKCS#8 PEM body)", body);
    // The 32-byte seed as a JWK `d` would show it.
    registerSecret("dev signing key (seed, base64url)", createPrivateKey(pem).export({ format: "jwk" }).d);
  } catch {
    // a configured key instead
  }
}
