import { readFile } from "node:fs/promises";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { pino, type Logger } from "pino";
import { openAnnal, type AnnalCore } from "../annal.js";
import { createSealerService, type SealerService, type SealStep } from "../archive/sealer.js";
import { openArchiveLocation, type ArchiveLocation, type S3Keys } from "../archive/open-store.js";
import { verifyArchive } from "../archive/verify-archive.js";
import { loadConfig, type AnnalConfig } from "../config.js";
import { availableParallelism } from "node:os";
import { createBundleWorkers } from "../archive/bundle-workers.js";
import type { KeySpec } from "../archive/bundle-worker.js";
import { formatVerifierKey, LedgerError, toBase64 } from "../core/index.js";
import type { LogWakeup } from "../follower/index.js";
import { createPool } from "../store/postgres/pool.js";
import { createPostgresProofs } from "../store/postgres/proofs.js";
import { createPostgresReader } from "../store/postgres/reader.js";
import { parseSegmentObjectName, parseTrustedKey, resolveTrustedKey, verifyBundle, type TrustedKey } from "../verify/index.js";
import { createNodeVerifier } from "./node-verifier.js";
import { openSecretProvider } from "../secrets/index.js";

const SEAL_STEPS: readonly SealStep[] = ["build", "upload", "verify-remote", "mark-sealed"];

/** The archive location of the configuration, refusing the NOT WORM directory in production. */
export function archiveFor(config: AnnalConfig, env: NodeJS.ProcessEnv = process.env, keys?: S3Keys): ArchiveLocation {
  if (config.archive === undefined) throw new LedgerError("ERR_CONFIG", "no archive is configured: set ANNAL_ARCHIVE=s3://bucket/prefix (or file:///path in development)");
  if (config.env === "production" && config.archive.startsWith("file:")) throw new LedgerError("ERR_CONFIG", "ANNAL_ARCHIVE=file://... is NOT WORM and is refused in production: use an s3:// bucket with Object Lock");
  return openArchiveLocation(config.archive, env, keys);
}

/**
 * The archive for a one-shot command: S3 keys from their providers (ANNAL_S3_ACCESS_KEY /
 * ANNAL_S3_SECRET_KEY) read once, else the AWS_* variables.
 */
async function archiveForCommand(config: AnnalConfig): Promise<ArchiveLocation> {
  const { s3AccessKey, s3SecretKey } = config.secrets;
  if (s3AccessKey === undefined || s3SecretKey === undefined) return archiveFor(config);
  const [accessKey, secretKey] = await Promise.all([openSecretProvider("ANNAL_S3_ACCESS_KEY", s3AccessKey).get(), openSecretProvider("ANNAL_S3_SECRET_KEY", s3SecretKey).get()]);
  return archiveFor(config, { ...process.env, AWS_ACCESS_KEY_ID: accessKey.reveal(), AWS_SECRET_ACCESS_KEY: secretKey.reveal() });
}

/**
 * The sealer of a running core (`annal serve` and `annal seal` both build it here).
 * ANNAL_ARCHIVE_TEST_CRASH_AFTER (a step name) makes it kill itself after that step:
 * a test hook to show crash recovery, refused in production.
 */
export function createCoreSealer(core: AnnalCore, config: AnnalConfig, logger: Logger, extra: { wakeup?: LogWakeup; env?: NodeJS.ProcessEnv } = {}): SealerService {
  const env = extra.env ?? process.env;
  const s3 = core.secrets;
  const { store, prefix } = archiveFor(config, env, s3.s3AccessKey && s3.s3SecretKey ? { accessKey: s3.s3AccessKey, secretKey: s3.s3SecretKey } : undefined);
  const crash = env.ANNAL_ARCHIVE_TEST_CRASH_AFTER;
  if (crash !== undefined && crash !== "") {
    if (config.env === "production" || !SEAL_STEPS.includes(crash as SealStep)) throw new LedgerError("ERR_CONFIG", `ANNAL_ARCHIVE_TEST_CRASH_AFTER is a test hook (${SEAL_STEPS.join(", ")}), never allowed in production`);
  }
  return createSealerService(
    {
      pool: core.pool,
      connect: core.connect,
      ...(extra.wakeup ? { wakeup: extra.wakeup } : {}),
      logger,
      ledger: core.ledger,
      publicKeys: () => core.reader.publicKeys(),
      inclusionProof: (leafIndex, treeSize) => core.proofs.inclusionProof(leafIndex, treeSize),
      signer: core.signer,
      store,
    },
    {
      prefix,
      retentionDays: config.archiveRetentionDays,
      segmentEvents: config.archiveSegmentEvents,
      segmentAgeSeconds: config.archiveSegmentAgeSeconds,
      witnesses: config.witnesses.map((w) => w.verifierKey),
      ...(crash ? { crashAfter: crash as SealStep } : {}),
      ...(env.ANNAL_ARCHIVE_TICK_MS ? { tickMs: Number(env.ANNAL_ARCHIVE_TICK_MS) } : {}),
    },
  );
}

/** `annal verify --bundle FILE --public-key KEY`: one segment, offline. */
export async function runBundleVerify(opts: { bundle: string; publicKey: string[]; origin?: string; witnessKey?: string[] }): Promise<void> {
  if (opts.publicKey.length === 0) throw new InvalidArgumentError("--bundle needs --public-key: the ledger key you trust (a bundle's own keys.json proves nothing)");
  const keys = trustedKeys(opts.publicKey);
  const bytes = new Uint8Array(await readFile(opts.bundle));
  const verdict = verifyBundle(bytes, keys, { verifySignature: createNodeVerifier(), ...(opts.origin ? { origin: opts.origin } : {}), ...(opts.witnessKey?.length ? { witnesses: opts.witnessKey } : {}) });
  if (verdict.ok) {
    const m = verdict.manifest;
    console.log(`OK: ${opts.bundle}: segment ${m.segment}, events ${m.from}..${m.to} (${verdict.events}), root ${m.root} signed at size ${m.to}; manifest ${verdict.manifestHash}${m.previous ? `, previous ${m.previous}` : ""}`);
    if (verdict.cosigners.length > 0) console.log(`cosigned by: ${verdict.cosigners.join(", ")}${opts.witnessKey?.length ? "" : " (keys from the bundle's keys.json; pass --witness-key to pin them)"}`);
    console.log("note: this checks one segment; `annal archive verify` checks the chain of all of them and the bucket's retention");
  } else {
    console.error(`FAILED: ${opts.bundle}: ${verdict.file}${verdict.position !== undefined ? ` at position ${verdict.position}` : ""}: ${verdict.reason}`);
    process.exitCode = 1;
  }
}

/** A trusted key as text again (for a worker thread): its verifier key, or the raw key; with its window, if it has one. */
export function keyText(key: TrustedKey): KeySpec {
  const text = key.name === undefined ? toBase64(key.publicKey) : formatVerifierKey(key.name, key.publicKey);
  if (key.fromPosition === undefined) return text;
  return { text, fromPosition: key.fromPosition, ...(key.toPosition !== undefined ? { toPosition: key.toPosition } : {}) };
}

function trustedKeys(texts: readonly string[]): TrustedKey[] {
  return texts.map((text) => {
    const key = parseTrustedKey(text);
    if ("error" in key) throw new InvalidArgumentError(`--public-key ${text}: ${key.error}`);
    return key;
  });
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerArchiveCommands(program: Command): void {
  program
    .command("seal")
    .description("run the sealer: seal segments of the log into the archive (ANNAL_ARCHIVE) by the size and age policy")
    .option("--now", "seal everything already covered by a signed (witnessed) checkpoint, whatever the policy, then exit")
    .action(async (opts: { now?: boolean }) => {
      const config = loadConfig();
      if (!config.databaseUrl) throw new InvalidArgumentError("annal seal needs DATABASE_URL (the ledger's database)");
      const logger = pino({ level: config.logLevel, base: { service: "annal-sealer" } });
      const location = await archiveForCommand(config);
      const core = await openAnnal(config, logger);
      const sealer = createCoreSealer(core, config, logger);
      try {
        await sealer.start();
        if (!location.store.worm) console.error(`warning: ${location.store.description}`);
        if (opts.now) {
          const sealed = await sealer.sealNow();
          for (const s of sealed) console.log(`sealed segment ${s.segment}: events ${s.from}..${s.to} -> ${s.objectName} version ${s.versionId}`);
          const status = await sealer.status();
          console.log(sealed.length === 0 ? `nothing to seal: sealed up to ${status.lastSealed?.to ?? 0}` : `sealed up to position ${status.lastSealed?.to ?? 0} in ${status.archive}`);
        } else {
          await new Promise<void>((resolve) => {
            process.once("SIGINT", () => resolve());
            process.once("SIGTERM", () => resolve());
          });
        }
      } finally {
        await sealer.stop();
        await core.close();
      }
    });

  const archive = program.command("archive").description("the archive of sealed segments (ANNAL_ARCHIVE)");

  archive
    .command("verify")
    .description("verify the archive: bucket lock, every version of every object, every bundle, continuity from 1, the manifest chain, and the live log")
    .option("--database-url <url>", "also check the last sealed checkpoint against this live log (default: $DATABASE_URL)")
    .option("--public-key <key>", "trust only this ledger key (C2SP verifier key or base64 Ed25519); repeatable", collect, [])
    .option("--witness-key <vkey>", "require this witness's cosignature on every sealed checkpoint; repeatable", collect, [])
    .option("--no-progress", "no progress bar")
    .action(async (opts: { databaseUrl?: string; publicKey: string[]; witnessKey: string[]; progress: boolean }) => {
      const config = loadConfig();
      const { store, prefix } = await archiveForCommand(config);
      const url = opts.databaseUrl ?? config.databaseUrl;
      const pool = url ? createPool({ connectionString: url, max: 2, applicationName: "annal-archive-verify" }) : undefined;
      try {
        let keys = trustedKeys(opts.publicKey);
        let keysFrom = "--public-key";
        if (keys.length === 0 && pool) {
          // With their windows: a segment must be signed by the key in force at each position
          // (docs/verification.md section 20), even one that starts after a rotation.
          keys = (await createPostgresReader(pool).publicKeys()).map((k) => {
            const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition !== undefined ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition !== undefined ? { toPosition: k.toPosition } : {}) });
            if ("error" in key) throw new InvalidArgumentError(`key ${k.keyId} in the database: ${key.error}`);
            return key;
          });
          keysFrom = "the live database";
        }
        if (keys.length === 0) throw new InvalidArgumentError("pass --public-key (or --database-url to take the ledger's keys from its database)");
        const proofs = pool ? createPostgresProofs(pool) : undefined;
        const reader = pool ? createPostgresReader(pool) : undefined;
        const bar = opts.progress && process.stderr.isTTY ? new cliProgress.SingleBar({ format: "archive verify [{bar}] {value}/{total} segments | {events} events", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
        let started = false;
        // Bundles are verified on one worker thread per core, a few fetched ahead.
        const threads = availableParallelism();
        const workers = createBundleWorkers(threads);
        const keyTexts = keys.map(keyText);
        const report = await verifyArchive({
          store,
          prefix,
          keys,
          retentionDays: config.archiveRetentionDays,
          verify: (bytes, options) => workers.verify(bytes, keyTexts, options),
          concurrency: threads + 1,
          ...(opts.witnessKey.length > 0 ? { witnesses: opts.witnessKey } : {}),
          ...(proofs && reader
            ? {
                live: {
                  rootAt: async (n: number) => (await proofs.checkpointAt(n))?.rootHash,
                  latest: () => reader.latestCheckpoint(),
                  consistencyProof: (a: number, b: number) => proofs.consistencyProof(a, b),
                },
              }
            : {}),
          onProgress: (done, total) => {
            if (!started) bar?.start(total.segments, 0, { events: 0 });
            started = true;
            bar?.update(done.segments, { events: done.events });
          },
        }).finally(() => {
          bar?.stop();
          return workers.close();
        });
        const s = report.summary;
        const lines = [
          `${s.segments} segments, events 1..${s.lastCheckpoint} (${s.events} events, ${(s.bytes / 1e6).toFixed(1)} MB) in ${store.description}`,
          store.worm ? `every object: one version, COMPLIANCE, retained until at least ${s.retainedUntil ?? "-"}; ${s.legalHolds} under legal hold` : "NOT WORM: a local directory enforces no retention",
          s.live ? `last sealed checkpoint (${s.lastCheckpoint}) is in the live log and consistent with its latest checkpoint (${s.live.treeSize})` : "live log not compared (no --database-url)",
          `keys from ${keysFrom}`,
        ];
        if (report.ok) console.log(`OK: ${lines.join("\n    ")}`);
        else {
          console.error(`FAILED: ${report.object}: ${report.reason}`);
          console.error(`(before it: ${lines[0]})`);
          process.exitCode = 1;
        }
      } finally {
        await pool?.end();
      }
    });

  for (const [verb, on] of [["hold", true], ["release", false]] as const) {
    archive
      .command(verb)
      .description(on ? "put a sealed segment under legal hold (no deletion, whatever its retention, until released)" : "release a segment's legal hold (its COMPLIANCE retention still applies)")
      .argument("<segment>", "segment number (1 is the one starting at position 1) or object name")
      .action(async (segment: string) => {
        const config = loadConfig();
        const { store, prefix } = await archiveForCommand(config);
        const versions = (await store.listVersions(prefix)).filter((v) => !v.deleteMarker && parseSegmentObjectName(prefix, v.name));
        const names = [...new Set(versions.map((v) => v.name))].sort();
        const name = /^[1-9]\d*$/.test(segment) ? names[Number(segment) - 1] : names.find((n) => n === segment || n === `${prefix}${segment}`);
        if (!name) throw new InvalidArgumentError(`no segment ${segment} in ${store.description} (${names.length} segments)`);
        const held = versions.filter((v) => v.name === name);
        for (const v of held) await store.setLegalHold(name, v.versionId, on);
        for (const v of held) if ((await store.getLegalHold(name, v.versionId)) !== on) throw new LedgerError("ERR_ARCHIVE", `${name} version ${v.versionId}: the legal hold did not read back as ${on ? "ON" : "OFF"}`);
        console.log(`${name}: legal hold ${on ? "ON" : "OFF"} (${held.map((v) => v.versionId).join(", ")})`);
      });
  }
}
