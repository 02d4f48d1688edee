import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { BundleCheckOptions, BundleVerdict } from "../verify/index.js";
import type { BuiltBundle, ManifestSigner, SegmentInput } from "./build-bundle.js";
import { signManifest } from "./build-bundle.js";
import type { BundleJob, KeySpec } from "./bundle-worker.js";

// The worker runs our TypeScript: under Node it registers tsx first (as bin/annal.js
// does); Bun runs TypeScript natively.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (typeof Bun === "undefined") { const { register } = await import(workerData.tsx); register(); }
  await import(workerData.entry);
})().catch((error) => setImmediate(() => { throw error; }));
`;

export interface BundleWorkers {
  /** Builds a bundle off the main thread (only the manifest signature is made here, by `signer`), then verifies it there as an auditor would. */
  build(input: SegmentInput, signer: ManifestSigner, verify: { keys: readonly KeySpec[]; options: Omit<BundleCheckOptions, "verifySignature"> }): Promise<BuiltBundle & { verdict: BundleVerdict }>;
  /** verifyBundle on a worker. */
  verify(bytes: Uint8Array, keys: readonly KeySpec[], options: Omit<BundleCheckOptions, "verifySignature">): Promise<BundleVerdict>;
  close(): Promise<void>;
}

/** `size` worker threads for bundles; jobs go to the least busy one. */
export function createBundleWorkers(size = 1): BundleWorkers {
  // The worker loads its own module graph: it needs tsx's loader (found from here) to read TypeScript.
  // (its ESM entry: the CommonJS one cannot be import()ed).
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const workerData = { tsx: pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href, entry: new URL("./bundle-worker.ts", import.meta.url).href };
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const load = new Map<Worker, number>();
  let nextId = 0;
  let broken: Error | undefined;
  const workers = Array.from({ length: Math.max(1, size) }, () => {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData });
    worker.unref();
    load.set(worker, 0);
    worker.on("message", ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const p = pending.get(id);
      pending.delete(id);
      if (error !== undefined) p?.reject(new Error(error));
      else p?.resolve(result);
    });
    // A worker that failed or exited fails what it had and every later job: nothing waits forever.
    worker.on("error", (error) => {
      broken = error;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
    worker.on("exit", (code) => {
      broken ??= new Error(`bundle worker exited with code ${code}`);
      for (const p of pending.values()) p.reject(broken);
      pending.clear();
    });
    return worker;
  });
  const post = <T>(worker: Worker, job: BundleJob, transfer: ArrayBuffer[] = []): Promise<{ id: number; result: T }> => {
    const id = nextId++;
    load.set(worker, load.get(worker)! + 1);
    return new Promise<T>((resolve, reject) => {
      if (broken) return reject(broken);
      pending.set(id, { resolve: resolve, reject });
      worker.postMessage({ id, job }, transfer);
    })
      .finally(() => load.set(worker, load.get(worker)! - 1))
      .then((result) => ({ id, result }));
  };
  const idlest = () => workers.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
  return {
    async build(input, signer, verify) {
      const worker = idlest();
      const { id, result } = await post<{ text: string; keyName: string }>(worker, { kind: "prepare", input });
      let note: string;
      try {
        note = await signManifest(result, signer);
      } catch (error) {
        await post(worker, { kind: "drop", job: id });
        throw error;
      }
      const built = await post<BuiltBundle & { verdict: BundleVerdict }>(worker, { kind: "finish", job: id, note, keys: verify.keys, options: verify.options });
      return built.result;
    },
    async verify(bytes, keys, options) {
      const copy = bytes.slice();
      return (await post<BundleVerdict>(idlest(), { kind: "verify", bytes: copy, keys, options }, [copy.buffer])).result;
    },
    async close() {
      broken ??= new Error("bundle workers closed");
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
