import { createEvalWorkerPool } from "../workers/eval-worker-pool.js";

// Plain CommonJS, evaluated in the worker: no loader (tsx) is needed there, and the key
// never leaves this process. Messages arrive packed in one buffer (fixed length each)
// and signatures go back packed, so a batch costs two postMessage calls.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createPrivateKey, sign } = require("node:crypto");
const key = createPrivateKey(workerData.pem);
parentPort.on("message", ({ id, packed, lengths }) => {
  const out = new Uint8Array(lengths.length * 64);
  let offset = 0;
  lengths.forEach((length, i) => {
    out.set(sign(null, packed.subarray(offset, offset + length), key), i * 64);
    offset += length;
  });
  parentPort.postMessage({ id, result: out }, [out.buffer]);
});
`;

export interface SignPool {
  signMany(messages: Uint8Array[]): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/**
 * Ed25519 signing on worker threads, so a batch's signatures (the costliest step of an
 * append, ~57 µs each here) run beside the main thread's HTTP, hashing and database work.
 * A batch is split evenly across the workers.
 */
export function createSignPool(pem: string, size: number): SignPool {
  // unref: an idle signer must not keep the process alive.
  const pool = createEvalWorkerPool<Uint8Array>(WORKER_SOURCE, size, { workerData: { pem }, unref: true });
  return {
    async signMany(messages) {
      const parts = await pool.spread(messages, (chunk) => {
        const lengths = chunk.map((m) => m.length);
        const packed = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
        let offset = 0;
        for (const m of chunk) {
          packed.set(m, offset);
          offset += m.length;
        }
        return { message: { packed, lengths }, transfer: [packed.buffer] };
      });
      const out: Uint8Array[] = [];
      for (const { result } of parts) for (let i = 0; i < result.length; i += 64) out.push(result.subarray(i, i + 64));
      return out;
    },
    close: () => pool.close(),
  };
}
