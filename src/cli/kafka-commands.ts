import { availableParallelism } from "node:os";
import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import { pino } from "pino";
import { loadConfig } from "../config.js";
import { isLedgerError } from "../core/index.js";
import { createListeningWakeup } from "../follower/index.js";
import { createKafkajsPort, createRelayService } from "../relay/index.js";
import { kafkaSasl, openConfiguredSecrets } from "../secrets/index.js";
import { createDatabasePassword } from "../store/postgres/rotating-password.js";
import { createHttpBackfill, createVerifyingConsumer, type Incident, type KafkaTrust } from "../relay/consumer/index.js";
import { isMigrated } from "../store/postgres/migrate.js";
import { createClient, createPool } from "../store/postgres/pool.js";
import { parseCosignerVerifierKey, parseTrustedKey, resolveTrustedKey, type CosignerKey, type TrustedKey } from "../verify/index.js";
import { authHeaders, createJsonClient } from "./http-client.js";
import { createNodeVerifier } from "./node-verifier.js";
import { createVerifyPool } from "./verify-pool.js";
import { stopOnSignals } from "./shutdown.js";

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds `annal relay` (the Kafka relay on its own) and `annal kafka verify`. */
export function registerKafkaCommands(program: Command): void {
  program
    .command("relay")
    .description("publish every committed event to Kafka (ANNAL_KAFKA_BROKERS, ANNAL_KAFKA_TOPIC); one active instance per topic, others wait")
    .action(async () => {
      const config = loadConfig();
      const logger = pino({ level: config.logLevel, base: { service: "annal-relay" } });
      if (config.databaseUrl === undefined) throw new InvalidArgumentError("DATABASE_URL is required (the relay follows an existing ledger's database)");
      if (config.kafkaBrokers.length === 0) throw new InvalidArgumentError("ANNAL_KAFKA_BROKERS is required");
      const url = config.databaseUrl;
      // Credentials from their providers (ANNAL_DB_PASSWORD, ANNAL_KAFKA_SASL_PASSWORD), rotated without a restart.
      const secrets = await openConfiguredSecrets(config, logger);
      const password = secrets.databasePassword === undefined ? undefined : createDatabasePassword(secrets.databasePassword);
      const pool = createPool({ connectionString: url, role: config.databaseRole, max: 4, applicationName: "annal-relay", password });
      if (!(await isMigrated(pool))) {
        await pool.end();
        await secrets.close();
        throw new InvalidArgumentError("the database is not migrated: run `annal migrate` (or start `annal serve` once)");
      }
      const connect = () => createClient({ connectionString: url, role: config.databaseRole, applicationName: "annal-relay", password });
      const wakeup = createListeningWakeup(connect, (error) => logger.warn({ err: error }, "LISTEN connection lost; polling until it is back"));
      const relay = createRelayService(
        { pool, connect, wakeup, logger },
        { brokers: config.kafkaBrokers, topic: config.kafkaTopic, origin: config.origin, partitions: config.kafkaPartitions, controlIntervalMs: config.kafkaControlIntervalMs, ...kafkaSasl(config, secrets) },
      );
      relay.start();
      logger.info({ topic: config.kafkaTopic, brokers: config.kafkaBrokers }, "relay started");
      const stop = stopOnSignals(logger, "relay stopping", async () => {
        await relay.stop();
        await wakeup.close();
        await pool.end();
        await secrets.close();
      });
      process.on("SIGHUP", () => void secrets.refresh().then((changed) => logger.info({ changed }, "SIGHUP: credentials re-read"), (error: unknown) => logger.error({ err: error }, "SIGHUP: re-reading credentials failed")));
      void relay.follower?.done.then(() => {
        if (relay.follower?.state === "failed") {
          logger.error({ code: relay.follower.error?.code, position: relay.follower.error?.details?.["position"] }, "relay stopped on an error");
          process.exitCode = 1;
          stop("failed");
        }
      });
    });

  const kafka = program.command("kafka").description("Kafka consumers' tools");
  kafka
    .command("verify")
    .description("read a whole Annal topic and verify it: signatures, chains, partition continuity, checkpoint roots; exit 1 on a fork, tamper or unfilled gap")
    .option("--brokers <list>", "bootstrap brokers (default $ANNAL_KAFKA_BROKERS)")
    .option("--topic <topic>", "topic (default $ANNAL_KAFKA_TOPIC or annal.events)")
    .option("--public-key <key>", "trust this ledger key (C2SP verifier key or base64 Ed25519); repeatable", collect, [])
    .option("--origin <origin>", "the log's origin (default $ANNAL_ORIGIN)")
    .option("--witness-key <vkey>", "a witness cosigner verifier key; repeatable", collect, [])
    .option("--quorum <n>", "cosignatures a checkpoint needs to count as witnessed (default: all witness keys)")
    .option("--url <url>", "the Annal API: fills gaps (ANNAL_TOKEN for auth); with no --public-key, keys are taken from it")
    .option("--no-progress", "no progress bar")
    .action(async (opts: { brokers?: string; topic?: string; publicKey: string[]; origin?: string; witnessKey: string[]; quorum?: string; url?: string; progress: boolean }) => {
      const config = loadConfig();
      const brokers = (opts.brokers?.split(",") ?? config.kafkaBrokers).map((b) => b.trim()).filter(Boolean);
      if (brokers.length === 0) throw new InvalidArgumentError("--brokers or ANNAL_KAFKA_BROKERS is required");
      const topic = opts.topic ?? config.kafkaTopic;
      const trust = await trustFrom(opts, config.origin);
      const port = createKafkajsPort({ brokers, clientId: "annal-kafka-verify" });
      // Signatures are most of the work: one OpenSSL worker per core.
      const pool = createVerifyPool(availableParallelism());
      const incidents: Record<string, number> = {};
      let bar: cliProgress.SingleBar | undefined;
      try {
        if ((await port.describeTopic(topic)) === undefined) throw new InvalidArgumentError(`topic ${topic} does not exist`);
        const offsets = await port.offsets(topic);
        const total = offsets.reduce((sum, o) => sum + o.high - o.low, 0);
        if (opts.progress && process.stderr.isTTY) {
          bar = new cliProgress.SingleBar({ format: "kafka verify [{bar}] {percentage}% | position {value} | {eta_formatted} left", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(Math.max(1, total), 0);
        }
        const consumer = createVerifyingConsumer(
          {
            kafka: port,
            verifySignature: createNodeVerifier(),
            verifySignatures: (checks) => pool.firstFailure(checks),
            ...(opts.url ? { backfill: createHttpBackfill(opts.url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...authHeaders() } }) }) } : {}),
            onIncident: (i: Incident) => {
              incidents[i.kind] = (incidents[i.kind] ?? 0) + 1;
              if (i.kind !== "duplicate") process.stderr.write(`${bar ? "\n" : ""}${i.kind}: ${i.reason}\n`);
            },
          },
          { topic, trust, gapGraceMs: 0 },
        );
        const summary = await consumer.run({ apply: () => Promise.resolve(), stopWhenCaughtUp: true, onProgress: (s) => bar?.update(Math.min(s.events, total)) });
        bar?.update(total);
        bar?.stop();
        console.log(
          `OK: ${summary.events} events verified to position ${summary.position} from ${topic}; ${summary.checkpoints} checkpoint roots matched (${summary.witnessedCheckpoints} witnessed); ` +
            `${summary.duplicates} duplicates dropped, ${summary.gaps} gaps (${summary.backfilled} events backfilled), ${summary.reorders} reordered`,
        );
        if (summary.checkpoints === 0) console.log("note: no control record was verified, so no signed tree size covers these events yet");
      } catch (error) {
        bar?.stop();
        if (isLedgerError(error) && error.code.startsWith("ERR_KAFKA_") && error.code !== "ERR_KAFKA_UNAVAILABLE" && error.code !== "ERR_KAFKA_TOPIC") {
          console.error(`FAILED: ${error.code}: ${error.message}`);
          process.exitCode = 1;
          return;
        }
        throw error;
      } finally {
        await pool.close();
        await port.close();
      }
    });
}

/** What `annal projections run --from kafka` takes besides the names and --database-url (the consumer's own PostgreSQL). */
export interface KafkaRunOptions {
  databaseUrl?: string;
  brokers?: string;
  topic?: string;
  projectionsDir?: string;
  publicKey: string[];
  origin?: string;
  witnessKey: string[];
  quorum?: string;
  url?: string;
  untilCaughtUp?: boolean;
}

/** Adds the options of `annal projections run --from kafka` to the projections `run` command. */
export function withKafkaRunOptions(command: Command): Command {
  return command
    .option("--brokers <list>", "with --from kafka: bootstrap brokers (default $ANNAL_KAFKA_BROKERS)")
    .option("--topic <topic>", "with --from kafka: topic (default $ANNAL_KAFKA_TOPIC or annal.events)")
    .option("--projections-dir <dir>", "with --from kafka: folder of projection folders (default: the shipped projections/)")
    .option("--public-key <key>", "with --from kafka: trust this ledger key; repeatable", collect, [])
    .option("--origin <origin>", "with --from kafka: the log's origin (default $ANNAL_ORIGIN)")
    .option("--witness-key <vkey>", "with --from kafka: a witness cosigner verifier key; repeatable", collect, [])
    .option("--quorum <n>", "with --from kafka: cosignatures a checkpoint needs to count as witnessed")
    .option("--url <url>", "with --from kafka: the Annal API, to fill gaps (ANNAL_TOKEN for auth)")
    .option("--until-caught-up", "with --from kafka: stop at the end of the topic instead of following it");
}

/**
 * `annal projections run --from kafka`: the projections of projections/ in another
 * PostgreSQL (the consumer's own, migrated here), fed from a Kafka topic through the
 * verifying consumer; prints each projection's commitment.
 */
export async function runProjectionsFromKafka(names: readonly string[], opts: KafkaRunOptions): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: "annal-projections" } });
  const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new InvalidArgumentError("--database-url (the PostgreSQL the read models are built in) is required with --from kafka");
  const brokers = (opts.brokers?.split(",") ?? config.kafkaBrokers).map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) throw new InvalidArgumentError("--brokers or ANNAL_KAFKA_BROKERS is required");
  const topic = opts.topic ?? config.kafkaTopic;
  const trust = await trustFrom(opts, config.origin);
  const { loadProjections, BUILT_IN_PROJECTIONS_DIR } = await import("../projector/loader.js");
  const { createRowExpander } = await import("../projector/commitment.js");
  const { runKafkaProjections } = await import("../relay/kafka-projections.js");
  const { migrate } = await import("../store/postgres/migrate.js");
  const loaded = await loadProjections(opts.projectionsDir ?? BUILT_IN_PROJECTIONS_DIR, names.length > 0 ? names : undefined);
  const pool = createPool({ connectionString: databaseUrl, max: loaded.length + 2, applicationName: "annal-kafka-projections" });
  const port = createKafkajsPort({ brokers, clientId: "annal-kafka-projections", logger });
  const signatures = createVerifyPool(availableParallelism());
  const stopping = new AbortController();
  process.once("SIGINT", () => stopping.abort());
  process.once("SIGTERM", () => stopping.abort());
  try {
    await migrate(pool);
    const results = await runKafkaProjections(
      {
        pool,
        kafka: port,
        expand: await createRowExpander(),
        verifySignature: createNodeVerifier(),
        verifySignatures: (checks) => signatures.firstFailure(checks),
        logger,
        ...(opts.url ? { backfill: createHttpBackfill(opts.url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...authHeaders() } }) }) } : {}),
        onIncident: (projection, i) => logger.warn({ projection, kind: i.kind, position: i.position, partition: i.partition, offset: i.offset }, i.reason),
      },
      { topic, trust, projections: loaded, signal: stopping.signal, stopWhenCaughtUp: opts.untilCaughtUp ?? false },
    );
    for (const r of results) console.log(`${r.projection}: position ${r.position}, commitment ${r.commitment} (schema ${r.schema})`);
  } finally {
    await signatures.close();
    await port.close();
    await pool.end();
  }
}

async function trustFrom(opts: { publicKey: string[]; origin?: string; witnessKey: string[]; quorum?: string; url?: string }, defaultOrigin: string): Promise<KafkaTrust> {
  const keys: TrustedKey[] = [];
  if (opts.publicKey.length === 0) {
    if (!opts.url) throw new InvalidArgumentError("--public-key (the ledger key you trust) is required, or --url to take the keys from the server");
    const client = createJsonClient(opts.url, fetch, authHeaders());
    // With their windows (docs/verification.md section 20): partitions deliver events out
    // of order, so the windows let each be checked against the key in force at its position.
    for (const k of (await client.get<{ keys: Array<{ noteVerifierKey: string; fromPosition?: number; toPosition?: number }> }>("/keys")).keys) {
      const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition !== undefined ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition !== undefined ? { toPosition: k.toPosition } : {}) });
      if ("error" in key) throw new InvalidArgumentError(`key ${k.noteVerifierKey} from the server: ${key.error}`);
      keys.push(key);
    }
    console.error("note: keys were taken from the server; pass --public-key to pin the ledger key you trust");
  }
  for (const text of opts.publicKey) {
    const key = parseTrustedKey(text);
    if ("error" in key) throw new InvalidArgumentError(`--public-key ${text}: ${key.error}`);
    keys.push(key);
  }
  const witnesses: CosignerKey[] = opts.witnessKey.map((text) => {
    const key = parseCosignerVerifierKey(text);
    if (!key) throw new InvalidArgumentError(`--witness-key ${text} is not a cosigner verifier key`);
    return key;
  });
  const quorum = opts.quorum === undefined ? witnesses.length : Number(opts.quorum);
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > witnesses.length) throw new InvalidArgumentError("--quorum must be from 0 to the number of --witness-key");
  return { keys, origin: opts.origin ?? defaultOrigin, witnesses, quorum };
}
