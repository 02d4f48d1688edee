import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { RangeJob, RangeResult } from "./verify-range.js";
import type { RangeWorkerData } from "./verify-range-worker.js";

// The worker runs our TypeScript: under Node it registers tsx first (as bin/annal.js
// does); Bun runs TypeScript natively. (As src/archive/bundle-workers.ts.)
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (typeof Bun === "undefined") { const { register } = await import(workerData.tsx); register(); }
  await import(workerData.entry);
})().catch((error) => setImmediate(() => { throw error; }));
`;

export interface RangeWorkers {
  /** Checks a range on the next worker in turn; results of one worker come in the order given. */
  check(job: RangeJob): Promise<RangeResult>;
  close(): Promise<void>;
}

/** `size` worker threads, each with its own PostgreSQL connection. */
export function createRangeWorkers(size: number, data: RangeWorkerData): RangeWorkers {
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const workerData = { tsx: pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href, entry: new URL("./verify-range-worker.ts", import.meta.url).href, data };
  const pending = new Map<number, { resolve(value: RangeResult): void; reject(error: Error): void }>();
  let broken: Error | undefined;
  let turn = 0;
  const failAll = (error: Error) => {
    broken ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const workers = Array.from({ length: Math.max(1, size) }, () => {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData });
    worker.on("message", ({ id, result, error }: { id: number; result?: RangeResult; error?: string }) => {
      const p = pending.get(id);
      pending.delete(id);
      if (error !== undefined) p?.reject(new Error(error));
      else p?.resolve(result!);
    });
    // A worker that failed or exited fails what it had and every later job: nothing waits forever.
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`verify worker exited with code ${code}`)));
    return worker;
  });
  return {
    check(job) {
      if (broken) return Promise.reject(broken);
      return new Promise<RangeResult>((resolve, reject) => {
        pending.set(job.id, { resolve, reject });
        workers[turn++ % workers.length]!.postMessage({ job });
      });
    },
    async close() {
      broken ??= new Error("verify workers closed");
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
