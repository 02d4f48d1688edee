import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDir, repoRoot, type CacheLayout } from "./cache.js";
import { createKafkaService } from "./kafka.js";
import { createMinioService } from "./minio.js";
import { createPostgresService } from "./postgres.js";
import { createVaultService } from "./vault.js";
import { isRunning, pickPort, sleep, type RecordedProcess } from "./processes.js";
import type { ServiceDriver } from "./service.js";
import { readState, SERVICE_NAMES, writeState, type InstanceState, type ServiceName } from "./state.js";

export interface ServiceStatus {
  name: ServiceName;
  state: "running" | "unhealthy" | "stopped";
  pid?: number;
  detail: string;
}

type Drivers = { [K in ServiceName]: ServiceDriver<NonNullable<InstanceState[K]>> };

export interface ServiceManager {
  layout: CacheLayout;
  /** Starts the named services unless already running and healthy; returns those it started. */
  up(names: readonly ServiceName[], onProgress?: (message: string) => void): Promise<ServiceName[]>;
  down(names?: readonly ServiceName[]): Promise<RecordedProcess[]>;
  status(): Promise<ServiceStatus[]>;
  /** Environment variables for the services that are running now. */
  env(): Record<string, string>;
}

/**
 * One start or stop at a time per instance (two `vitest` runs, or a run and the CLI): a
 * directory made atomically, holding the owner's pid; a dead owner's lock is taken over.
 */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, "lock");
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(lock, "pid"), "utf8"));
      } catch {
        /* being written: wait */
      }
      if (Number.isInteger(owner) && !isRunning({ pid: owner, startTime: null })) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} held by pid ${owner} for 15 minutes; remove it if that process is gone`);
      else await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function createServiceManager(deps: { layout: CacheLayout }): ServiceManager {
  const { layout } = deps;
  ensureDir(layout.instance, 0o700);
  ensureDir(layout.logs);
  const drivers: Drivers = {
    postgres: createPostgresService({ layout }),
    kafka: createKafkaService({ layout }),
    minio: createMinioService({ layout }),
    vault: createVaultService({ layout }),
  };
  const load = () => readState(layout.stateFile, repoRoot);

  async function probeQuietly<K extends ServiceName>(name: K, state: NonNullable<InstanceState[K]>): Promise<string | undefined> {
    try {
      await drivers[name].probe(state);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  async function up(names: readonly ServiceName[], onProgress: (message: string) => void = () => undefined): Promise<ServiceName[]> {
    return withLock(layout.instance, async () => {
      const state = load();
      const handedOut = new Set<number>();
      const picker = async (preferred?: number) => {
        const port = await pickPort(preferred, [...handedOut]);
        handedOut.add(port);
        return port;
      };
      const started: ServiceName[] = [];
      const failures: string[] = [];
      // In parallel: the slow parts (Maven, go install, JVM start) overlap.
      await Promise.all(names.map(async <K extends ServiceName>(name: K) => {
        const saved = state[name];
        if (saved?.process && isRunning(saved.process) && (await probeQuietly(name, saved)) === undefined) {
          onProgress(`${name}: already running (pid ${saved.process.pid})`);
          return;
        }
        if (saved?.process) await drivers[name].stop(saved).catch(() => undefined); // running but not answering
        const begin = Date.now();
        onProgress(`${name}: starting`);
        try {
          const next = await drivers[name].start(saved ? { ...saved, process: undefined } : undefined, picker);
          state[name] = next;
          writeState(layout.stateFile, state);
          started.push(name);
          onProgress(`${name}: ready in ${((Date.now() - begin) / 1000).toFixed(1)}s, ${drivers[name].describe(next)}`);
        } catch (error) {
          failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }));
      writeState(layout.stateFile, state);
      if (failures.length > 0) throw new Error(`could not start ${failures.join("\n\n")}`);
      return started;
    });
  }

  async function down(names: readonly ServiceName[] = SERVICE_NAMES): Promise<RecordedProcess[]> {
    return withLock(layout.instance, async () => {
      const state = load();
      const stopped: RecordedProcess[] = [];
      await Promise.all(names.map(async <K extends ServiceName>(name: K) => {
        const saved = state[name];
        if (!saved?.process) return;
        const proc = saved.process;
        await drivers[name].stop(saved);
        stopped.push(proc);
        delete saved.process;
      }));
      writeState(layout.stateFile, state);
      return stopped;
    });
  }

  async function status(): Promise<ServiceStatus[]> {
    const state = load();
    return Promise.all(SERVICE_NAMES.map(async <K extends ServiceName>(name: K): Promise<ServiceStatus> => {
      const saved = state[name];
      if (!saved?.process || !isRunning(saved.process)) return { name, state: "stopped", detail: "not running" };
      const problem = await probeQuietly(name, saved);
      return { name, state: problem ? "unhealthy" : "running", pid: saved.process.pid, detail: problem ?? drivers[name].describe(saved) };
    }));
  }

  function env(): Record<string, string> {
    const state = load();
    const result: Record<string, string> = {};
    for (const name of SERVICE_NAMES) {
      const saved = state[name];
      if (saved?.process && isRunning(saved.process)) Object.assign(result, (drivers[name] as ServiceDriver<typeof saved>).env(saved));
    }
    return result;
  }

  return { layout, up, down, status, env };
}
