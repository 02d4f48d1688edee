import { Worker } from "node:worker_threads";

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
  parentPort.postMessage({ id, out }, [out.buffer]);
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
  const workers = Array.from({ length: size }, () => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pem } });
    worker.unref();
    return worker;
  });
  const pending = new Map<number, { resolve(out: Uint8Array): void; reject(error: Error): void }>();
  let nextId = 0;
  for (const worker of workers) {
    worker.on("message", ({ id, out }: { id: number; out: Uint8Array }) => {
      pending.get(id)?.resolve(out);
      pending.delete(id);
    });
    worker.on("error", (error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
  }

  function run(worker: Worker, messages: Uint8Array[]): Promise<Uint8Array> {
    const lengths = messages.map((m) => m.length);
    const packed = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
    let offset = 0;
    for (const m of messages) {
      packed.set(m, offset);
      offset += m.length;
    }
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, packed, lengths }, [packed.buffer]);
    });
  }

  return {
    async signMany(messages) {
      const share = Math.ceil(messages.length / workers.length);
      const parts = await Promise.all(workers.map((w, i) => (i * share < messages.length ? run(w, messages.slice(i * share, (i + 1) * share)) : Promise.resolve(new Uint8Array(0)))));
      const out: Uint8Array[] = [];
      for (const part of parts) for (let i = 0; i < part.length; i += 64) out.push(part.subarray(i, i + 64));
      return out;
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
