// Signing rate per key provider, called by `npm run bench` (BENCH_ONLY=keys for this
// section alone). Not a test: it measures and prints. The ledger key signs every event
// hash and the checkpoint body of each batch in ONE signMany call, so "per-batch latency"
// is what a provider adds to every append batch.
//
//   file           PKCS#8 key in memory: node:crypto inline, and on 2 worker threads
//   pkcs11         SoftHSM2 2.6.1 (Debian) through koffi, 1 and 2 worker threads
//   vault-transit  a real Vault dev server on loopback, batch_input (≤1000 per request)
//   awskms         a FAKE KMS on loopback (AWS is unreachable here): one request per
//                  signature, 8 in flight; the figure is the adapter's and the SDK's cost,
//                  not AWS's latency (tens of ms per call from a region) nor its quotas
//   @peculiar/webcrypto  Ed25519 through its SubtleCrypto, for comparison (not used by Annal)
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSigner, type Signer } from "../../src/keys/index.js";
import { freePort } from "../../src/store/postgres/embedded.js";
import { startFakeKms } from "../../test/support/fake-kms.js";
import { createSoftHsmToken } from "../../test/support/softhsm.js";
import { ensureDir, resolveCacheLayout } from "../services/cache.js";
import { stopProcess, waitUntilReady } from "../services/processes.js";
import { ensureVaultBinary, probeVault, spawnVaultDevServer } from "../services/vault.js";
import { percentile } from "./stats.js";

export interface SigningBenchRow {
  provider: string;
  batch: number;
  batches: number;
  signaturesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const SCALE = Number(process.env.BENCH_SCALE ?? "1");

function messages(n: number, seed: number): Uint8Array[] {
  // Event hashes are 32 bytes; the last message stands for the checkpoint body.
  const out = Array.from({ length: n - 1 }, (_, i) => {
    const m = new Uint8Array(32);
    new DataView(m.buffer).setUint32(0, seed * 1_000_000 + i);
    return m;
  });
  out.push(new TextEncoder().encode(`bench.example/log\n${seed}\nK3vlcjQ9YTcwNzE2ZGQ4ZjE1YmFkMmU0ZmQzYzVjNQ==\n`));
  return out;
}

async function measure(provider: string, sign: (batch: Uint8Array[]) => Promise<unknown>, batch: number, seconds: number): Promise<SigningBenchRow> {
  await sign(messages(batch, 0)); // warm-up: workers, sessions, connections
  const latencies: number[] = [];
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < seconds * 1000) {
    const t0 = performance.now();
    await sign(messages(batch, ++n));
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { provider, batch, batches: n, signaturesPerSecond: (n * batch) / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

export async function benchSigning(log: (line: string) => void = console.log): Promise<SigningBenchRow[]> {
  const rows: SigningBenchRow[] = [];
  const report = (row: SigningBenchRow) => {
    rows.push(row);
    log(`${row.provider.padEnd(44)} batch ${String(row.batch).padStart(5)}  ${row.signaturesPerSecond.toFixed(0).padStart(7)} sig/s  per batch p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms  (${row.batches} batches)`);
  };
  const seconds = 4 * SCALE;
  const dir = await mkdtemp(join(tmpdir(), "annal-bench-keys-"));
  const run = async (provider: string, open: () => Promise<Signer>, batches: number[]) => {
    const signer = await open();
    try {
      for (const batch of batches) report(await measure(provider, (m) => signer.signMany(m), batch, seconds));
    } finally {
      await signer.close();
    }
  };
  try {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await writeFile(join(dir, "key.pem"), pem, { mode: 0o600 });
    await run("file (inline)", () => openSigner(`file:${join(dir, "key.pem")}`, { noteName: "bench", signWorkers: 0 }), [1, 100, 1000]);
    await run("file (2 workers)", () => openSigner(`file:${join(dir, "key.pem")}`, { noteName: "bench", signWorkers: 2 }), [100, 1000]);

    const token = await createSoftHsmToken("annal-bench");
    try {
      await token.generateKey("bench", "b1");
      await run("pkcs11 SoftHSM2 (1 worker)", () => openSigner(token.uri("bench"), { noteName: "bench", signWorkers: 1 }), [1, 100, 1000]);
      await run("pkcs11 SoftHSM2 (2 workers)", () => openSigner(token.uri("bench"), { noteName: "bench", signWorkers: 2 }), [100, 1000]);
    } finally {
      await token.close();
    }

    const layout = resolveCacheLayout();
    const vault = spawnVaultDevServer({ binary: await ensureVaultBinary(layout), port: await freePort(), rootToken: `bench-${Date.now()}`, log: join(ensureDir(layout.logs), "vault-bench.log") });
    try {
      await waitUntilReady("vault", vault.process, () => probeVault(vault.addr), { timeoutMs: 60_000, stopSignal: "SIGTERM" });
      const call = (path: string, body: unknown) => fetch(`${vault.addr}/v1/${path}`, { method: "POST", headers: { "X-Vault-Token": vault.rootToken }, body: JSON.stringify(body) });
      await call("sys/mounts/transit", { type: "transit" });
      await call("transit/keys/bench", { type: "ed25519" });
      const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
      await run("vault-transit (real Vault, loopback)", () => openSigner("vault-transit:transit/bench", { noteName: "bench", env }), [1, 100, 1000]);
    } finally {
      await stopProcess(vault.process, "SIGTERM", 10_000);
    }

    const kms = await startFakeKms();
    try {
      const { arn } = kms.addKey("ECC_NIST_EDWARDS25519");
      const env = { AWS_ACCESS_KEY_ID: kms.accessKeyId, AWS_SECRET_ACCESS_KEY: kms.secretAccessKey };
      await run("awskms (FAKE KMS on loopback, 8 in flight)", () => openSigner(`awskms:${arn}?endpoint=${kms.endpoint}`, { noteName: "bench", env }), [1, 100]);
    } finally {
      await kms.close();
    }

    // @peculiar/webcrypto: a SubtleCrypto in JavaScript over node:crypto. Measured with the
    // key imported once; it still converts the key on every call.
    const { Crypto } = await import("@peculiar/webcrypto");
    const peculiar = new Crypto();
    const der = generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" });
    const peculiarKey = await peculiar.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    report(await measure("@peculiar/webcrypto Ed25519 (comparison)", async (batch) => {
      for (const m of batch) await peculiar.subtle.sign({ name: "Ed25519" }, peculiarKey, m as Uint8Array<ArrayBuffer>);
    }, 100, seconds));
    const nodeKey = await webcrypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    report(await measure("node:crypto webcrypto Ed25519 (comparison)", async (batch) => {
      for (const m of batch) await webcrypto.subtle.sign({ name: "Ed25519" }, nodeKey, m);
    }, 100, seconds));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
