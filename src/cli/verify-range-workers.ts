import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { RangeJob, RangeResult } from "./verify-range.js";
import type { RangeWorkerData } from "./verify-range-worker.js";

// Under Bun the worker imports our TypeScript natively. Under Node, registering tsx in
// each worker starts a loader thread and resolves every module through it: about half a
// second of CPU per worker, a sixth of a 300,000-event `--fast` run. So under Node the
// worker's module graph is bundled once per process with esbuild (the transpiler tsx runs
// on, resolved through tsx) into one script each worker evaluates; without esbuild the
// worker falls back to registering tsx (as src/archive/bundle-workers.ts does).
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (typeof Bun === "undefined") { const { register } = await import(workerData.tsx); register(); }
  await import(workerData.entry);
})().catch((error) => setImmediate(() => { throw error; }));
`;

const ENTRY = new URL("./verify-range-worker.ts", import.meta.url);

interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ text: string }> }>;
  stop?(): void | Promise<void>;
}

let bundled: Promise<string | undefined> | undefined;

/**
 * The worker as one script (Node), or undefined: then it is started through tsx or Bun.
 * Built once per process; calling it early (before the log's size and checkpoints are
 * read) overlaps the build with those queries.
 */
export function workerScript(): Promise<string | undefined> {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return Promise.resolve(undefined);
  bundled ??= (async () => {
    try {
      const fromTsx = createRequire(createRequire(import.meta.url).resolve("tsx/package.json"));
      const esbuild = fromTsx("esbuild") as EsbuildApi;
      const result = await esbuild.build({
        entryPoints: [fileURLToPath(ENTRY)],
        bundle: true,
        platform: "node",
        format: "iife",
        target: `node${process.versions.node.split(".")[0]}`,
        // pg loads its optional native binding only when asked for it.
        external: ["pg-native"],
        write: false,
        logLevel: "silent",
      });
      // esbuild's service process is not needed again in this process.
      await esbuild.stop?.();
      return result.outputFiles[0]!.text;
    } catch {
      return undefined;
    }
  })();
  return bundled;
}

export interface RangeWorkers {
  /** Checks a range on the worker with the fewest jobs; results of one worker come in the order given. */
  check(job: RangeJob): Promise<RangeResult>;
  close(): Promise<void>;
}

/** `size` worker threads, each with its own PostgreSQL connection; jobs wait until they are up. */
export function createRangeWorkers(size: number, data: RangeWorkerData): RangeWorkers {
  const pending = new Map<number, { worker: number; resolve(value: RangeResult): void; reject(error: Error): void }>();
  const load: number[] = Array.from({ length: Math.max(1, size) }, () => 0);
  let broken: Error | undefined;
  const failAll = (error: Error) => {
    broken ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const started = workerScript().then((script) =>
    load.map(() => {
      let worker: Worker;
      if (script !== undefined) {
        worker = new Worker(script, { eval: true, workerData: { data } });
      } else {
        const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
        worker = new Worker(BOOTSTRAP, { eval: true, workerData: { tsx: pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href, entry: ENTRY.href, data } });
      }
      worker.on("message", ({ id, result, error }: { id: number; result?: RangeResult; error?: string }) => {
        const p = pending.get(id);
        if (!p) return;
        pending.delete(id);
        load[p.worker]!--;
        if (error !== undefined) p.reject(new Error(error));
        else p.resolve(result!);
      });
      // A worker that failed or exited fails what it had and every later job: nothing waits forever.
      worker.on("error", failAll);
      worker.on("exit", (code) => failAll(new Error(`verify worker exited with code ${code}`)));
      return worker;
    }),
  );
  started.catch(failAll);
  return {
    check(job) {
      if (broken) return Promise.reject(broken);
      // The least busy worker: one slowed by the machine's other work gets fewer ranges.
      let turn = 0;
      for (let i = 1; i < load.length; i++) if (load[i]! < load[turn]!) turn = i;
      load[turn]!++;
      return new Promise<RangeResult>((resolve, reject) => {
        pending.set(job.id, { worker: turn, resolve, reject });
        started.then(
          (workers) => workers[turn]!.postMessage({ job }),
          (error: Error) => reject(error),
        );
      });
    },
    async close() {
      broken ??= new Error("verify workers closed");
      const workers = await started.catch(() => [] as Worker[]);
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.once("exit", () => resolve());
              w.postMessage({ close: true });
              // A worker stuck in a query is ended: its results are no longer wanted.
              setTimeout(() => void w.terminate(), 2000).unref();
            }),
        ),
      );
    },
  };
}
