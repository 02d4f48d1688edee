// Sealing and archive verification throughput, called by `npm run bench`
// (BENCH_ONLY=archive) against a log it fills (BENCH_ARCHIVE_EVENTS, default 1,000,000 x
// BENCH_SCALE). The archive is a fresh Object Lock bucket on the MinIO named by S3_ENDPOINT,
// S3_ACCESS_KEY and S3_SECRET_KEY (`eval "$(npm run -s services -- env)"`); without them
// a local directory, which the report labels NOT WORM. Not a test: it measures and reports.
//
//   seal:     from an empty archive, as `annal seal --now` does it: the follower reads and
//             link-checks the log; each segment is read, built and verified locally (a
//             worker thread), uploaded, verified remotely (download and hash), marked
//             sealed, and recorded with a SegmentSealed event;
//   verify:   `annal archive verify`: list versions, retention and hold per object,
//             download and verify every bundle (native Ed25519), chain, live log.
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import * as Minio from "minio";
import { pino } from "pino";
import { openAnnal } from "../../src/annal.js";
import { createDirectoryObjectStore } from "../../src/archive/directory-object-store.js";
import type { ObjectStore } from "../../src/archive/object-store.js";
import { createS3ObjectStore } from "../../src/archive/s3-object-store.js";
import { createSealerService } from "../../src/archive/sealer.js";
import { verifyArchive } from "../../src/archive/verify-archive.js";
import { availableParallelism } from "node:os";
import { createBundleWorkers } from "../../src/archive/bundle-workers.js";
import { keyText } from "../../src/cli/archive-commands.js";
import { loadConfig } from "../../src/config.js";
import { toBase64 } from "../../src/core/index.js";
import { createClient } from "../../src/store/postgres/pool.js";
import { parseTrustedKey, type TrustedKey } from "../../src/verify/index.js";
import { fillLog } from "./fill-log.js";


async function openStore(dir: string): Promise<{ store: ObjectStore; label: string }> {
  const endpoint = process.env.S3_ENDPOINT;
  const accessKey = process.env.S3_ACCESS_KEY;
  const secretKey = process.env.S3_SECRET_KEY;
  if (!endpoint || !accessKey || !secretKey) return { store: createDirectoryObjectStore(join(dir, "archive")), label: "local directory (NOT WORM: no S3_ENDPOINT)" };
  const url = new URL(endpoint);
  const client = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: url.protocol === "https:", accessKey, secretKey });
  const bucket = `bench-archive-${Date.now().toString(36)}`;
  await client.makeBucket(bucket, "", { ObjectLocking: true });
  await (client.setObjectLockConfig(bucket, { mode: "COMPLIANCE", unit: "Days", validity: 1 }) as unknown as Promise<void>);
  return { store: createS3ObjectStore({ bucket, endpoint, region: "us-east-1", accessKeyId: accessKey, secretAccessKey: secretKey }), label: `MinIO on loopback, Object Lock COMPLIANCE bucket ${bucket}` };
}

export async function benchArchive(databaseUrl: string, home: string, log: (line: string) => void = console.log): Promise<void> {
  const target = Number(process.env.BENCH_ARCHIVE_EVENTS ?? Math.round(1_000_000 * Number(process.env.BENCH_SCALE ?? "1")));
  const segmentEvents = Number(process.env.BENCH_ARCHIVE_SEGMENT_EVENTS ?? 100_000);
  const config = loadConfig({ DATABASE_URL: databaseUrl, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off" });
  const annal = await openAnnal(config, pino({ level: "silent" }));
  const { store, label } = await openStore(await mkdtemp(join(home, "..", "archive-")));
  try {
    await fillLog(annal, { events: target, streamId: (w, i) => `v-${w}-${i % 50}`, label: "the archive" });

    const sealer = createSealerService(
      {
        pool: annal.pool,
        connect: () => createClient({ connectionString: annal.databaseUrl, role: config.databaseRole, applicationName: "annal-bench-sealer" }),
        ledger: annal.ledger,
        publicKeys: () => annal.reader.publicKeys(),
        inclusionProof: (i, n) => annal.proofs.inclusionProof(i, n),
        signer: annal.signer,
        store,
      },
      { prefix: "segments/", retentionDays: 1, segmentEvents, segmentAgeSeconds: 31_536_000, witnesses: [], tickMs: 60_000 },
    );
    // End to end, as an operator sees it: the follower reads and link-checks the log while
    // segments are cut (by the size policy) and sealed behind it.
    const sealing = performance.now();
    await sealer.start();
    const sealed = await sealer.sealNow({ timeoutMs: 3_600_000 });
    const sealSeconds = (performance.now() - sealing) / 1000;
    await sealer.stop();
    const bytes = sealed.reduce((sum, s) => sum + (s.bundleBytes ?? 0), 0);
    const events = sealed.reduce((sum, s) => sum + s.to - s.from + 1, 0);
    log(`archive: ${label}; ${sealed.length} segments of up to ${segmentEvents} events`);
    log(`(s1) sealing from an empty archive (follower catch-up and seal --now): ${events} events, ${(bytes / 1e6).toFixed(1)} MB of bundles in ${sealSeconds.toFixed(1)} s: ${Math.round(events / sealSeconds)} events/s, ${(bytes / 1e6 / sealSeconds).toFixed(1)} MB/s`);

    const key = parseTrustedKey(toBase64(annal.signer.publicKey)) as TrustedKey;
    // As `annal archive verify` runs it: one worker thread per core, a few bundles fetched ahead.
    const threads = availableParallelism();
    const workers = createBundleWorkers(threads);
    const verifying = performance.now();
    const report = await verifyArchive({
      store,
      prefix: "segments/",
      keys: [key],
      retentionDays: 1,
      verify: (bytes, options) => workers.verify(bytes, [keyText(key)], options),
      concurrency: threads + 1,
      live: { rootAt: async (n) => (await annal.proofs.checkpointAt(n))?.rootHash, latest: () => annal.reader.latestCheckpoint(), consistencyProof: (a, b) => annal.proofs.consistencyProof(a, b) },
    });
    const verifySeconds = (performance.now() - verifying) / 1000;
    await workers.close();
    if (!report.ok) log(`   ! archive verify FAILED: ${report.object}: ${report.reason}`);
    const s = report.summary;
    log(`(s2) archive verify: ${s.segments} segments, ${s.events} events, ${(s.bytes / 1e6).toFixed(1)} MB in ${verifySeconds.toFixed(1)} s: ${Math.round(s.events / verifySeconds)} events/s, ${(s.bytes / 1e6 / verifySeconds).toFixed(1)} MB/s`);
  } finally {
    await annal.close();
  }
}
