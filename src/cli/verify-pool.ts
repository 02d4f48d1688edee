import { Worker } from "node:worker_threads";

// Plain CommonJS evaluated in each worker (no TypeScript loader needed there). A job is
// one packed buffer of (public key 32 || message 32 || signature 64) triples; the answer
// is the index of the first triple that does not verify, or -1.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
const keys = new Map();
parentPort.on("message", ({ id, packed }) => {
  let failed = -1;
  for (let i = 0, at = 0; at < packed.length; i++, at += 128) {
    const raw = packed.subarray(at, at + 32);
    const id64 = Buffer.from(raw).toString("base64url");
    let key = keys.get(id64);
    if (!key) { key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: id64 }, format: "jwk" }); keys.set(id64, key); }
    if (!verify(null, packed.subarray(at + 32, at + 64), key, packed.subarray(at + 64, at + 128))) { failed = i; break; }
  }
  parentPort.postMessage({ id, failed });
});
`;

export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyPool {
  /** Index of the first check that fails, or -1. Callers check S < L before (strictVerifier). */
  firstFailure(checks: readonly SignatureCheck[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Ed25519 verification spread over worker threads (OpenSSL in each), so `annal verify`
 * uses every core: verifying signatures is most of the work of checking a log.
 */
export function createVerifyPool(size: number): VerifyPool {
  const workers = Array.from({ length: size }, () => new Worker(WORKER_SOURCE, { eval: true }));
  const pending = new Map<number, { resolve(failed: number): void; reject(error: Error): void }>();
  let nextId = 0;
  for (const worker of workers) {
    worker.on("message", ({ id, failed }: { id: number; failed: number }) => {
      pending.get(id)?.resolve(failed);
      pending.delete(id);
    });
    worker.on("error", (error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
  }
  function run(worker: Worker, checks: readonly SignatureCheck[]): Promise<number> {
    const packed = new Uint8Array(checks.length * 128);
    checks.forEach((c, i) => {
      packed.set(c.publicKey, i * 128);
      packed.set(c.message, i * 128 + 32);
      packed.set(c.signature, i * 128 + 64);
    });
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, packed }, [packed.buffer]);
    });
  }
  return {
    async firstFailure(checks) {
      if (checks.length === 0) return -1;
      const share = Math.ceil(checks.length / workers.length);
      const parts = await Promise.all(workers.map((w, i) => (i * share < checks.length ? run(w, checks.slice(i * share, (i + 1) * share)) : Promise.resolve(-1))));
      for (let i = 0; i < parts.length; i++) if (parts[i]! >= 0) return i * share + parts[i]!;
      return -1;
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
