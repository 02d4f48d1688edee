import { Worker } from "node:worker_threads";

export interface WorkerPool<Result> {
  /**
   * Splits `items` evenly over the workers, one message each (built by `encode`), and
   * answers each chunk's result with the index of its first item, in order.
   */
  spread<Item>(items: readonly Item[], encode: (chunk: readonly Item[]) => { message: object; transfer: ArrayBuffer[] }): Promise<Array<{ first: number; result: Result }>>;
  close(): Promise<void>;
}

/**
 * A fixed pool of worker threads running `source`: plain CommonJS evaluated in each
 * worker, so no TypeScript loader is needed there. The worker answers a message
 * `{ id, ...message }` with `{ id, result }`.
 */
export function createEvalWorkerPool<Result>(source: string, size: number, options: { workerData?: unknown; unref?: boolean } = {}): WorkerPool<Result> {
  const workers = Array.from({ length: size }, () => {
    const worker = new Worker(source, { eval: true, workerData: options.workerData });
    if (options.unref) worker.unref();
    return worker;
  });
  const pending = new Map<number, { resolve(result: Result): void; reject(error: Error): void }>();
  let nextId = 0;
  for (const worker of workers) {
    worker.on("message", ({ id, result }: { id: number; result: Result }) => {
      pending.get(id)?.resolve(result);
      pending.delete(id);
    });
    worker.on("error", (error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
  }

  return {
    spread(items, encode) {
      const share = Math.ceil(items.length / workers.length);
      const runs: Array<Promise<{ first: number; result: Result }>> = [];
      workers.forEach((worker, i) => {
        const first = i * share;
        if (first >= items.length) return;
        const { message, transfer } = encode(items.slice(first, first + share));
        const id = nextId++;
        runs.push(
          new Promise<Result>((resolve, reject) => {
            pending.set(id, { resolve, reject });
            worker.postMessage({ id, ...message }, transfer);
          }).then((result) => ({ first, result })),
        );
      });
      return Promise.all(runs);
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
