// The sealer and the archive against the suite's real MinIO (fresh Object Lock buckets,
// default COMPLIANCE retention of 1 day, the least S3 allows: locked test objects cannot
// be cleaned up) and real PostgreSQL.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cosign } from "../../src/verify/index.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createSealerService, type SealerService } from "../../src/archive/sealer.js";
import type { ObjectStore } from "../../src/archive/object-store.js";
import { createS3ObjectStore } from "../../src/archive/s3-object-store.js";
import { verifyArchive } from "../../src/archive/verify-archive.js";
import { fenced, readSegments } from "../../src/archive/segment-rows.js";
import { createNodeVerifier } from "../../src/cli/node-verifier.js";
import { formatVerifierKey, toBase64 } from "../../src/core/index.js";
import * as auditor from "../../src/verify/index.js";
import { formatCosignerVerifierKey } from "../../src/verify/cosignature.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { runCli, startServerProcess } from "../support/processes.js";
import { createTestDatabase, s3Config } from "../support/services.js";
import { createLockedBucket } from "../support/archive.js";
import { captureLogger } from "../support/log-capture.js";

const logger = captureLogger("archive");

function sealerFor(annal: TestAnnal, store: ObjectStore, options: { witnesses?: string[]; segmentEvents?: number } = {}): SealerService {
  return createSealerService(
    {
      pool: annal.pool,
      connect: leaseConnector(annal),
      logger,
      ledger: annal.ledger,
      publicKeys: () => annal.reader.publicKeys(),
      inclusionProof: (i, n) => annal.proofs.inclusionProof(i, n),
      signer: annal.signer,
      store,
    },
    { prefix: "segments/", retentionDays: 1, segmentEvents: options.segmentEvents ?? 100, segmentAgeSeconds: 86_400, witnesses: options.witnesses ?? [], tickMs: 100 },
  );
}

async function appendEvents(annal: TestAnnal, batches: number, perBatch = 10): Promise<void> {
  for (let b = 0; b < batches; b++) {
    await annal.ledger.append({ streamId: `account-${b % 4}`, events: Array.from({ length: perBatch }, (_, i) => ({ type: "Deposited", data: { batch: b, i, amount: b * 10 + i } })) });
  }
}

function s3Env(bucket: string): Record<string, string> {
  const c = s3Config();
  return { ANNAL_ARCHIVE: `s3://${bucket}/segments/`, AWS_ENDPOINT_URL: `http://${c.endPoint}:${c.port}`, AWS_ACCESS_KEY_ID: c.accessKey, AWS_SECRET_ACCESS_KEY: c.secretKey, AWS_REGION: "us-east-1", ANNAL_ARCHIVE_RETENTION_DAYS: "1" };
}

/** A fresh locked bucket holding a copy of every sealed object, `change` applied to the named one's bytes. */
async function copyArchive(from: ObjectStore, change?: { name: string; edit: (bytes: Uint8Array) => Uint8Array }): Promise<{ bucket: string; store: ObjectStore }> {
  const copy = await createLockedBucket();
  for (const v of await from.listVersions("segments/")) {
    let bytes = await from.get(v.name, v.versionId);
    if (change?.name === v.name) bytes = change.edit(bytes);
    await copy.store.put(v.name, bytes);
  }
  return copy;
}

describe("sealing into an Object Lock bucket", () => {
  let annal: TestAnnal;
  let store: ObjectStore;
  let bucket: string;
  let sealer: SealerService;
  let publicKey: string;
  let verifierKey: string;

  beforeAll(async () => {
    annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    ({ store, bucket } = await createLockedBucket());
    publicKey = toBase64(annal.signer.publicKey);
    verifierKey = formatVerifierKey(annal.signer.noteName, annal.signer.publicKey);
    await appendEvents(annal, 25);
    sealer = sealerFor(annal, store);
    await sealer.start();
    await sealer.sealNow();
  });
  afterAll(async () => {
    await sealer?.stop();
    await annal?.close();
  });

  it("seals every signed event into segments that tile the log from position 1, and records each in the log", async () => {
    const segments = await readSegments(annal.pool);
    expect(segments.map((s) => [s.from, s.to, s.state])).toEqual([
      [1, 100, "sealed"],
      [101, 200, "sealed"],
      [201, 250, "sealed"],
    ]);
    const names = [...new Set((await store.listVersions("segments/")).map((v) => v.name))];
    expect(names).toEqual(["segments/0000000000000001-0000000000000100.tar", "segments/0000000000000101-0000000000000200.tar", "segments/0000000000000201-0000000000000250.tar"]);
    const sealedEvents = await annal.reader.readStream("annal:archive", {});
    expect(sealedEvents.map((e) => [e.type, (e.data as { to: number }).to, (e.data as { worm: boolean }).worm])).toEqual([
      ["SegmentSealed", 100, true],
      ["SegmentSealed", 200, true],
      ["SegmentSealed", 250, true],
    ]);
    expect(segments.map((s) => s.sealedEventPosition)).toEqual(sealedEvents.map((e) => e.position));
  });

  it("every sealed version: COMPLIANCE read back, its delete refused, its retention not shortened", async () => {
    const versions = await store.listVersions("segments/");
    expect(versions).toHaveLength(3);
    for (const v of versions) {
      const retention = await store.getRetention(v.name, v.versionId);
      expect(retention.mode).toBe("COMPLIANCE");
      expect(retention.retainUntil!.getTime()).toBeGreaterThan(Date.now() + 86_400_000 - 120_000);
      await expect(store.remove(v.name, v.versionId)).rejects.toThrow(/WORM|locked|retention|Access Denied/i);
      await expect(store.setRetention(v.name, v.versionId, new Date(Date.now() + 3_600_000))).rejects.toThrow();
      expect((await store.getRetention(v.name, v.versionId)).retainUntil!.getTime()).toBe(retention.retainUntil!.getTime());
    }
    expect(await store.listVersions("segments/")).toHaveLength(3);
  });

  it("archive verify passes: lock, versions, bundles, continuity, chain, and the live log", async () => {
    const report = await verifyArchive({
      store,
      prefix: "segments/",
      keys: [auditor.parseTrustedKey(publicKey) as auditor.TrustedKey],
      retentionDays: 1,
      verifySignature: createNodeVerifier(),
      live: { rootAt: async (n) => (await annal.proofs.checkpointAt(n))?.rootHash, latest: () => annal.reader.latestCheckpoint(), consistencyProof: (a, b) => annal.proofs.consistencyProof(a, b) },
    });
    expect(report).toMatchObject({ ok: true, summary: { segments: 3, events: 250, lastCheckpoint: 250, live: { treeSize: 253 } } });
    const cli = await runCli(["archive", "verify", "--public-key", verifierKey, "--database-url", annal.adminUrl, "--no-progress"], s3Env(bucket));
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^OK: 3 segments, events 1\.\.250/);
  });

  it("a bundle verifies offline with only the public key: by annal verify --bundle and by annal/verify", async () => {
    const [v] = (await store.listVersions("segments/")).filter((x) => x.name.includes("0101-"));
    const bytes = await store.get(v!.name, v!.versionId);
    const key = auditor.parseTrustedKey(publicKey) as auditor.TrustedKey;
    // The browser-safe library, with its pure-JS defaults (no native verifier passed).
    expect(auditor.verifyBundle(bytes, [key])).toMatchObject({ ok: true, events: 100, manifest: { segment: 2, from: 101, to: 200 } });
    const file = join(await mkdtemp(join(tmpdir(), "annal-bundle-")), "segment.tar");
    await writeFile(file, bytes);
    const cli = await runCli(["verify", "--bundle", file, "--public-key", publicKey]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^OK: .*segment 2, events 101\.\.200/);
    const refused = await runCli(["verify", "--bundle", file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--public-key/);
  });

  it("a forged version over a sealed key: archive verify fails naming the object and the reason", async () => {
    const copy = await copyArchive(store);
    const name = "segments/0000000000000101-0000000000000200.tar";
    await copy.store.put(name, new TextEncoder().encode("forged"));
    const cli = await runCli(["archive", "verify", "--public-key", verifierKey, "--no-progress"], s3Env(copy.bucket));
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(new RegExp(`FAILED: ${name}: has 2 versions`));
  });

  it("a delete marker on a sealed key: archive verify fails naming the object", async () => {
    const copy = await copyArchive(store);
    const name = "segments/0000000000000201-0000000000000250.tar";
    await copy.store.remove(name);
    const cli = await runCli(["archive", "verify", "--public-key", verifierKey, "--no-progress"], s3Env(copy.bucket));
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(new RegExp(`FAILED: ${name}: has a delete marker`));
  });

  it.each(["manifest.note", "checkpoint.note", "frontier.json", "keys.json", "events.jsonl"])("a tampered byte in %s of a copy: archive verify and verify --bundle fail naming the object and the file", async (file) => {
    const name = "segments/0000000000000101-0000000000000200.tar";
    const copy = await copyArchive(store, {
      name,
      edit: (bytes) => {
        const files = auditor.decodeBundle(bytes);
        if (!files.ok) throw new Error(files.reason);
        let offset = 0;
        for (const f of auditor.BUNDLE_FILES) {
          if (f === file) break;
          offset += 512 + Math.ceil(files.files[f].length / 512) * 512;
        }
        const out = bytes.slice();
        out[offset + 512 + Math.floor(files.files[file as (typeof auditor.BUNDLE_FILES)[number]].length / 3)]! ^= 0x20;
        return out;
      },
    });
    const cli = await runCli(["archive", "verify", "--public-key", verifierKey, "--no-progress"], s3Env(copy.bucket));
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`FAILED: ${name}: ${file}`);
    const [v] = (await copy.store.listVersions(name)).filter((x) => x.name === name);
    const path = join(await mkdtemp(join(tmpdir(), "annal-bundle-")), "tampered.tar");
    await writeFile(path, await copy.store.get(name, v!.versionId));
    const offline = await runCli(["verify", "--bundle", path, "--public-key", publicKey]);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain(`FAILED: ${path}: ${file}`);
  });

  it("legal hold: annal archive hold and release a segment", async () => {
    const hold = await runCli(["archive", "hold", "2"], s3Env(bucket));
    expect(hold.stdout).toMatch(/0000000000000101-0000000000000200\.tar: legal hold ON/);
    const [v] = (await store.listVersions("segments/")).filter((x) => x.name.includes("0101-"));
    expect(await store.getLegalHold(v!.name, v!.versionId)).toBe(true);
    const release = await runCli(["archive", "release", "segments/0000000000000101-0000000000000200.tar"], s3Env(bucket));
    expect(release.code).toBe(0);
    expect(await store.getLegalHold(v!.name, v!.versionId)).toBe(false);
  });
  it("a payload redacted after sealing: gone from the live log, still in the sealed bundle, and both still verify", async () => {
    const db = new pg.Client({ connectionString: annal.adminUrl });
    await db.connect();
    await db.query("DELETE FROM annal.payloads WHERE position = 5");
    await db.end();
    expect(await annal.reader.readEvent(5)).not.toHaveProperty("dataSalt");
    const [v] = (await store.listVersions("segments/")).filter((x) => x.name.includes("0001-0000000000000100"));
    const files = auditor.decodeBundle(await store.get(v!.name, v!.versionId));
    if (!files.ok) throw new Error(files.reason);
    const line = new TextDecoder().decode(files.files["events.jsonl"]).split("\n")[4]!;
    expect(JSON.parse(line)).toMatchObject({ position: 5, data: { batch: 0, i: 4 } });
    const cli = await runCli(["archive", "verify", "--public-key", verifierKey, "--database-url", annal.adminUrl, "--no-progress"], s3Env(bucket));
    expect(cli.code).toBe(0);
  });
});

describe("sealer start-up refuses a bucket that is not evidence-grade", () => {
  it.each([["no Object Lock", "none" as const], ["GOVERNANCE", { mode: "GOVERNANCE" as const, days: 1 }]])("%s: annal seal exits naming the problem, nothing sealed", async (_label, lock) => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    try {
      await appendEvents(annal, 2);
      const { bucket, store } = await createLockedBucket(lock);
      const cli = await runCli(["seal", "--now"], { ...s3Env(bucket), DATABASE_URL: annal.adminUrl, ANNAL_HOME: annal.config.home, ANNAL_LOG_LEVEL: "silent" });
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/ERR_CONFIG: .*(Object Lock is not enabled|GOVERNANCE)/);
      expect(await store.listVersions("")).toEqual([]);
    } finally {
      await annal.close();
    }
  });

  it("a default retention shorter than ANNAL_ARCHIVE_RETENTION_DAYS", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    try {
      const { bucket } = await createLockedBucket({ mode: "COMPLIANCE", days: 1 });
      const cli = await runCli(["seal", "--now"], { ...s3Env(bucket), ANNAL_ARCHIVE_RETENTION_DAYS: "30", DATABASE_URL: annal.adminUrl, ANNAL_HOME: annal.config.home, ANNAL_LOG_LEVEL: "silent" });
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/1 days, shorter than ANNAL_ARCHIVE_RETENTION_DAYS=30/);
    } finally {
      await annal.close();
    }
  });
});

describe("crash recovery (annal seal as a child process)", () => {
  it("kill -9 between upload and marking sealed: the next run adopts the uploaded version, and archive verify passes", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    try {
      await appendEvents(annal, 5);
      const { bucket, store } = await createLockedBucket();
      const env = { ...s3Env(bucket), DATABASE_URL: annal.adminUrl, ANNAL_HOME: annal.config.home, ANNAL_LOG_LEVEL: "silent", ANNAL_ARCHIVE_SEGMENT_EVENTS: "100" };
      const crashed = await runCli(["seal", "--now"], { ...env, ANNAL_ARCHIVE_TEST_CRASH_AFTER: "upload" });
      expect(crashed.code).toBeNull(); // killed by SIGKILL
      const [row] = await readSegments(annal.pool);
      expect(row).toMatchObject({ segment: 1, from: 1, to: 50, state: "built", versionId: null });
      const before = await store.listVersions("segments/");
      expect(before).toHaveLength(1);

      const resumed = await runCli(["seal", "--now"], env);
      expect(resumed.stderr).toBe("");
      expect(resumed.code).toBe(0);
      const after = await store.listVersions("segments/");
      expect(after.map((v) => v.versionId)).toEqual([before[0]!.versionId]);
      const [sealed] = await readSegments(annal.pool);
      expect(sealed).toMatchObject({ state: "sealed", versionId: before[0]!.versionId });
      const verify = await runCli(["archive", "verify", "--public-key", toBase64(annal.signer.publicKey), "--database-url", annal.adminUrl, "--no-progress"], env);
      expect(verify.code).toBe(0);
    } finally {
      await annal.close();
    }
  });

  it("different bytes already at the key after a crash: a conflict, halted, nothing overwritten", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    try {
      await appendEvents(annal, 3);
      const { bucket, store } = await createLockedBucket();
      const env = { ...s3Env(bucket), DATABASE_URL: annal.adminUrl, ANNAL_HOME: annal.config.home, ANNAL_LOG_LEVEL: "silent" };
      expect((await runCli(["seal", "--now"], { ...env, ANNAL_ARCHIVE_TEST_CRASH_AFTER: "upload" })).code).toBeNull();
      const [uploaded] = await store.listVersions("segments/");
      const forged = await store.put(uploaded!.name, new TextEncoder().encode("someone else's bytes"));
      const resumed = await runCli(["seal", "--now"], env);
      expect(resumed.code).not.toBe(0);
      expect(resumed.stderr).toMatch(/halted at segment 1/);
      const [row] = await readSegments(annal.pool);
      expect(row).toMatchObject({ state: "conflict", error: expect.stringMatching(/other bytes/) });
      expect((await store.listVersions("segments/")).map((v) => v.versionId).sort()).toEqual([uploaded!.versionId, forged.versionId].sort());
    } finally {
      await annal.close();
    }
  });
});

describe("MinIO unreachable while sealing", () => {
  it("marks nothing sealed while the store is down, and resumes when it returns", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    const target = s3Config();
    const { bucket } = await createLockedBucket();
    const proxy = await startProxy(target.endPoint, target.port);
    const store = createS3ObjectStore({ bucket, endpoint: `http://127.0.0.1:${proxy.port}`, region: "us-east-1", accessKeyId: target.accessKey, secretAccessKey: target.secretKey });
    const sealer = sealerFor(annal, store, { segmentEvents: 20 });
    try {
      await sealer.start();
      await proxy.stop();
      await appendEvents(annal, 4);
      await expect(sealer.sealNow({ timeoutMs: 3000 })).rejects.toMatchObject({ code: "ERR_UNAVAILABLE" });
      const rows = await readSegments(annal.pool);
      expect(rows.filter((r) => r.state === "sealed")).toEqual([]);
      expect((await sealer.status()).lastError).toMatch(/ECONNREFUSED|connect|socket|closed/i);

      await proxy.start();
      const sealed = await sealer.sealNow({ timeoutMs: 30_000 });
      expect(sealed.map((s) => [s.from, s.to, s.state])).toEqual([
        [1, 20, "sealed"],
        [21, 40, "sealed"],
      ]);
      const report = await verifyArchive({ store, prefix: "segments/", keys: [auditor.parseTrustedKey(toBase64(annal.signer.publicKey)) as auditor.TrustedKey], retentionDays: 1 });
      expect(report).toMatchObject({ ok: true, summary: { segments: 2, events: 40 } });
    } finally {
      await sealer.stop();
      await proxy.stop();
      await annal.close();
    }
  });
});

describe("an S3 endpoint that accepts connections and never answers", () => {
  it("fails each operation as retriable after the request timeout, instead of hanging the sealer", async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => void held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const store = createS3ObjectStore({ bucket: "any", endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", accessKeyId: "a", secretAccessKey: "b".repeat(20), requestTimeoutMs: 500 });
    try {
      await expect(store.lockConfiguration()).rejects.toMatchObject({ code: "ERR_UNAVAILABLE", retriable: true, message: expect.stringMatching(/no answer in 500 ms/) });
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
});

describe("witnessed checkpoints", () => {
  it("with a witness configured, a segment ends only at a checkpoint the witness cosigned", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    const { store } = await createLockedBucket();
    const seed = new Uint8Array(32).fill(9);
    const witness = { name: "witness.test/w1", publicKey: ed25519.getPublicKey(seed), sign: (m: Uint8Array) => ed25519.sign(m, seed) };
    const sealer = sealerFor(annal, store, { witnesses: [formatCosignerVerifierKey(witness.name, witness.publicKey)] });
    try {
      await appendEvents(annal, 6);
      await sealer.start();
      expect(await sealer.sealNow({ timeoutMs: 5000 })).toEqual([]);
      // The witness cosigns the checkpoint of size 30 (as the submitter stores a verified cosignature).
      const cp = (await annal.proofs.checkpointAt(30))!;
      const body = auditor.verifyCheckpointNote(cp.note, [auditor.parseTrustedKey(toBase64(annal.signer.publicKey)) as auditor.TrustedKey]);
      if (!body.ok) throw new Error(body.reason);
      await annal.pool.query("INSERT INTO annal.cosignatures (tree_size, witness, line, cosigned_at) VALUES ($1, $2, $3, $4)", [30, witness.name, cosign(body.body, witness, 1_800_000_000), 1_800_000_000]);
      const sealed = await sealer.sealNow({ timeoutMs: 30_000 });
      expect(sealed.map((s) => [s.from, s.to])).toEqual([[1, 30]]);
      const [v] = await store.listVersions("segments/");
      const verdict = auditor.verifyBundle(await store.get(v!.name, v!.versionId), [auditor.parseTrustedKey(toBase64(annal.signer.publicKey)) as auditor.TrustedKey], { witnesses: [formatCosignerVerifierKey(witness.name, witness.publicKey)] });
      expect(verdict).toMatchObject({ ok: true, cosigners: [witness.name] });
    } finally {
      await sealer.stop();
      await annal.close();
    }
  });
});

/** A TCP proxy of the test's own in front of MinIO, so the test can take "MinIO" away without stopping the shared server. */
async function startProxy(host: string, port: number): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let listenPort = 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = tcpConnect(port, host);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      server.once("error", reject);
      server.listen(listenPort, "127.0.0.1", () => {
        listenPort = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await start();
  return {
    get port() {
      return listenPort;
    },
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

describe("one active sealer", () => {
  it("a second sealer waits on standby, and a write at a stale epoch is fenced", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    const { store } = await createLockedBucket();
    const first = sealerFor(annal, store);
    const second = sealerFor(annal, store);
    try {
      await appendEvents(annal, 2);
      await first.start();
      await second.start();
      const states = await eventually(
        () => [first.follower?.state, second.follower?.state],
        (s) => s.includes("running") && s.includes("standby"),
      );
      expect([...states].sort()).toEqual(["running", "standby"]);
      const [active, standby] = states[0] === "running" ? [first, second] : [second, first];
      const sealed = await active.sealNow({ timeoutMs: 30_000 });
      expect(sealed.map((s) => [s.from, s.to])).toEqual([[1, 20]]);
      expect(standby.follower?.state).toBe("standby");
      await expect(standby.sealNow({ timeoutMs: 1000 })).rejects.toThrow(/another sealer holds the lease/);
      const { rows } = await annal.pool.query<{ epoch: number }>("SELECT epoch FROM annal.followers WHERE name = 'sealer:default'");
      await expect(fenced(annal.pool, "sealer:default", Number(rows[0]!.epoch) - 1, () => Promise.resolve())).rejects.toMatchObject({ code: "ERR_FENCED" });
      expect(await store.listVersions("segments/")).toHaveLength(1);
    } finally {
      await first.stop();
      await second.stop();
      await annal.close();
    }
  });
});

describe("the embedded default: annal serve seals into a local directory, NOT WORM", () => {
  it("seals by the size policy into $ANNAL_HOME/archive, and archive verify says NOT WORM", async () => {
    const db = await createTestDatabase();
    const home = await mkdtemp(join(tmpdir(), "annal-serve-archive-"));
    const env = { DATABASE_URL: db.url, ANNAL_HOME: home, ANNAL_ARCHIVE_SEGMENT_EVENTS: "10", ANNAL_ARCHIVE_TICK_MS: "200" };
    const server = await startServerProcess({ ...env, ANNAL_AUTH: "off" });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${server.url}/streams/orders-${i}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: Array.from({ length: 5 }, (_, j) => ({ type: "OrderPlaced", data: { i, j } })) }) });
        expect(response.status).toBe(201);
      }
      const pool = new pg.Pool({ connectionString: db.url });
      try {
        const rows = await eventually(() => readSegments(pool), (r) => r.some((s) => s.state === "sealed" && s.sealedEventPosition !== null));
        expect(rows[0]).toMatchObject({ segment: 1, from: 1, state: "sealed" });
      } finally {
        await pool.end();
      }
      expect(server.output()).toMatch(/NOT WORM/);
      const cli = await runCli(["archive", "verify", "--database-url", db.url, "--no-progress"], env);
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/NOT WORM/);
    } finally {
      await server.stop();
      await db.drop();
    }
  });
});
