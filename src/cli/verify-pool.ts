import { createEvalWorkerPool } from "../workers/eval-worker-pool.js";

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
  parentPort.postMessage({ id, result: failed });
});
`;

export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyPool {
  /** Index of the first check that fails, or -1. Callers apply the prechecks of the rule before (passesEd25519Prechecks). */
  firstFailure(checks: readonly SignatureCheck[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Ed25519 verification spread over worker threads (OpenSSL in each), so `annal verify`
 * uses every core: verifying signatures is most of the work of checking a log.
 */
export function createVerifyPool(size: number): VerifyPool {
  const pool = createEvalWorkerPool<number>(WORKER_SOURCE, size);
  return {
    async firstFailure(checks) {
      if (checks.length === 0) return -1;
      const parts = await pool.spread(checks, (chunk) => {
        const packed = new Uint8Array(chunk.length * 128);
        chunk.forEach((c, i) => {
          packed.set(c.publicKey, i * 128);
          packed.set(c.message, i * 128 + 32);
          packed.set(c.signature, i * 128 + 64);
        });
        return { message: { packed }, transfer: [packed.buffer] };
      });
      const failed = parts.find((p) => p.result >= 0);
      return failed ? failed.first + failed.result : -1;
    },
    close: () => pool.close(),
  };
}
