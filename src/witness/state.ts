import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256, toHex, utf8 } from "../core/index.js";
import { writeFileAtomic } from "../files/atomic-file.js";

/** What a witness remembers per log: the latest checkpoint it cosigned. */
export interface WitnessedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  /** The checkpoint body it cosigned (kept as evidence should the log fork later). */
  body: string;
  cosignedAt: number;
}

type Decision<T> = { next?: WitnessedCheckpoint; result: T };

export interface WitnessState {
  get(origin: string): Promise<WitnessedCheckpoint | undefined>;
  /**
   * Runs `decide` with the current record under the log's lock and persists what it
   * returns (if anything) before releasing it. Checking the old size and persisting the
   * new one are one atomic step, which the spec requires: otherwise two requests could
   * both pass the check and the later write would roll the witness back.
   */
  update<T>(origin: string, decide: (current: WitnessedCheckpoint | undefined) => Decision<T> | Promise<Decision<T>>): Promise<T>;
  close(): Promise<void>;
}

/**
 * State in a directory: one JSON file per log, replaced atomically (temp file, fsync,
 * rename, fsync of the directory), and a lock file so that two witness processes never
 * share a directory (the in-process lock serializes requests within one).
 */
export async function openFileWitnessState(dir: string): Promise<WitnessState> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, "witness.lock");
  await takeLock(lockPath);
  const chains = new Map<string, Promise<unknown>>();
  const fileOf = (origin: string) => join(dir, `log-${toHex(sha256(utf8(origin))).slice(0, 32)}.json`);

  async function get(origin: string): Promise<WitnessedCheckpoint | undefined> {
    try {
      return JSON.parse(await readFile(fileOf(origin), "utf8")) as WitnessedCheckpoint;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async function persist(record: WitnessedCheckpoint): Promise<void> {
    await writeFileAtomic(fileOf(record.origin), `${JSON.stringify(record)}\n`);
  }

  return {
    get,
    update(origin, decide) {
      const previous = chains.get(origin) ?? Promise.resolve();
      const run = previous.then(async () => {
        const { next, result } = await decide(await get(origin));
        if (next) await persist(next);
        return result;
      });
      // The chain continues after a failure: one failed write must not wedge the log.
      chains.set(origin, run.catch(() => undefined));
      return run;
    },
    async close() {
      await Promise.all(chains.values());
      await rm(lockPath, { force: true });
    },
  };
}

async function takeLock(path: string): Promise<void> {
  try {
    await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const pid = Number((await readFile(path, "utf8")).trim());
  if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) throw new Error(`witness state ${path} is locked by running process ${pid}`);
  // A lock left by a process that died: take it over.
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
