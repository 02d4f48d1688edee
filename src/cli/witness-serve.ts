import { generateKeyPairSync } from "node:crypto";
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { startServer, type RunningServer } from "../api/serve.js";
import { parseVerifierKey } from "../core/index.js";
import { openSigner, type Signer } from "../keys/index.js";
import { formatCosignerVerifierKey } from "../verify/index.js";
import { createWitnessApp } from "../witness/app.js";
import { openFileWitnessState } from "../witness/state.js";

export interface WitnessServeOptions {
  name: string;
  /** A PKCS#8 PEM file, created on first run (mode 0600) when absent. */
  keyFile?: string | undefined;
  /** Any key URI openSigner opens (file:, env:, pkcs11:, vault-transit:, awskms:): never created. */
  key?: string | undefined;
  /** Where the key provider reads env: keys and credentials; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  stateDir: string;
  /** Verifier keys of the logs to witness; each log's origin is its key name (several keys of one log: all trusted). */
  logs: string[];
  host: string;
  port: number;
  log?: (line: Record<string, unknown>) => void;
}

/**
 * Runs a witness: its own Ed25519 key (a key URI, e.g. in a KMS: it signs about one
 * checkpoint a second; or a PKCS#8 PEM file created on first run with mode 0600), its own
 * state directory, on loopback unless told otherwise. The operator publishes the printed
 * cosigner verifier key.
 */
export async function serveWitness(options: WitnessServeOptions): Promise<RunningServer & { verifierKey: string }> {
  if ((options.key === undefined) === (options.keyFile === undefined)) throw new Error("give the witness key as one of --key <uri> or --key-file <path>");
  if (options.keyFile !== undefined) await createKeyIfAbsent(options.keyFile);
  const signer = await openSigner(options.key ?? `file:${options.keyFile!}`, { noteName: options.name, ...(options.env ? { env: options.env } : {}) });
  try {
    return await serveWith(signer, options);
  } catch (error) {
    await signer.close();
    throw error;
  }
}

async function serveWith(signer: Signer, options: WitnessServeOptions): Promise<RunningServer & { verifierKey: string }> {
  // Keys of one origin are one log: during a key rotation's overlap the operator gives
  // the log's old and new keys (--log twice), and a checkpoint signed by either is accepted.
  const byOrigin = new Map<string, string[]>();
  for (const vkey of options.logs) {
    const parsed = parseVerifierKey(vkey);
    if (!parsed) throw new Error(`--log ${vkey} is not a C2SP Ed25519 verifier key`);
    byOrigin.set(parsed.name, [...(byOrigin.get(parsed.name) ?? []), vkey]);
  }
  const logs = [...byOrigin].map(([origin, verifierKeys]) => ({ origin, verifierKeys }));
  if (logs.length === 0) throw new Error("give at least one --log verifier key");
  const state = await openFileWitnessState(options.stateDir);
  const app = createWitnessApp({
    state,
    cosigner: { name: options.name, publicKey: signer.publicKey, sign: async (message) => (await signer.signMany([message]))[0]! },
    logs,
    now: () => Math.floor(Date.now() / 1000),
    ...(options.log ? { onEvent: options.log } : {}),
  });
  let server: RunningServer;
  try {
    server = await startServer(app, { host: options.host, port: options.port });
  } catch (error) {
    await state.close();
    throw error;
  }
  return {
    url: server.url,
    verifierKey: formatCosignerVerifierKey(options.name, signer.publicKey),
    async close() {
      await server.close();
      await state.close();
      await signer.close();
    },
  };
}

async function createKeyIfAbsent(path: string): Promise<void> {
  try {
    await access(path);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, pem, { mode: 0o600, flag: "wx" });
}
