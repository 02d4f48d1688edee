import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { keyIdOf, LedgerError } from "../core/index.js";
import { createSignPool, type SignPool } from "./sign-pool.js";
import type { Signer } from "./signer.js";

export interface KeySignerOptions {
  noteName: string;
  development?: boolean;
  /** Worker threads for batch signing (0: sign on the calling thread). */
  signWorkers?: number;
}

/**
 * Batches smaller than this are signed inline: a worker's message round trip costs more
 * CPU than it moves off this thread (a 33-event batch cost ~20 µs more per event through
 * the worker, issue 12). Larger ones are shared between the workers and this thread.
 */
const MIN_WORKER_BATCH = 128;

/** A Signer over an Ed25519 private key held in memory (loaded from PKCS#8 PEM). */
export function createKeySigner(privateKey: KeyObject, options: KeySignerOptions): Signer {
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new LedgerError("ERR_CONFIG", `signing key must be Ed25519, got ${privateKey.asymmetricKeyType ?? "unknown"}`);
  }
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  const publicKey = new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
  const signOne = (message: Uint8Array) => new Uint8Array(sign(null, message, privateKey));
  let pool: SignPool | undefined;
  const workers = options.signWorkers ?? 0;
  if (workers > 0 && typeof (globalThis as { Bun?: unknown }).Bun === "undefined") {
    // Under Bun, batches are signed inline (its eval'd workers differ from Node's).
    pool = createSignPool(privateKey.export({ format: "pem", type: "pkcs8" }).toString(), workers);
  }
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    noteName: options.noteName,
    development: options.development ?? false,
    async signMany(messages) {
      if (pool === undefined || messages.length < MIN_WORKER_BATCH) return messages.map(signOne);
      // The workers' shares are posted first, then this thread signs its own meanwhile.
      const mine = Math.floor(messages.length / (workers + 1));
      const theirs = pool.signMany(messages.slice(mine));
      const local = messages.slice(0, mine).map(signOne);
      return [...local, ...(await theirs)];
    },
    close: () => pool?.close() ?? Promise.resolve(),
  };
}

export function parsePkcs8Pem(pem: string, source: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `${source} is not a PKCS#8 PEM private key`, { cause });
  }
}

/** Loads a PKCS#8 PEM Ed25519 key from a file (the `file:` provider). */
export async function loadKeyFile(path: string, noteName: string, signWorkers = 0): Promise<Signer> {
  const pem = await readFile(path, "utf8").catch((cause: unknown) => {
    throw new LedgerError("ERR_CONFIG", `cannot read signing key file ${path}`, { cause });
  });
  return createKeySigner(parsePkcs8Pem(pem, path), { noteName, signWorkers });
}

/**
 * The development key under ANNAL_HOME: created on first run (mode 0600) and reused
 * after, so restarts keep one key. Marked `development`, which production refuses.
 */
export async function loadOrCreateDevKey(path: string, noteName: string, signWorkers = 0): Promise<{ signer: Signer; created: boolean }> {
  let pem: string | undefined;
  try {
    pem = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  let created = false;
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync("ed25519");
    pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await mkdir(dirname(path), { recursive: true });
    // wx: never overwrite a key another process created meanwhile.
    await writeFile(path, pem, { mode: 0o600, flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
      pem = await readFile(path, "utf8");
    });
    created = true;
  }
  return { signer: createKeySigner(parsePkcs8Pem(pem, path), { noteName, development: true, signWorkers }), created };
}
