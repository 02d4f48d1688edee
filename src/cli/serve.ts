import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { Logger } from "pino";
import { openAnnal } from "../annal.js";
import { createApp, startServer } from "../api/index.js";
import type { DevClient } from "../auth/index.js";
import { assertProductionReady, maskedConfig, type AnnalConfig } from "../config.js";
import { createPostgresCosignatures } from "../store/postgres/cosignatures.js";
import { freePort } from "../store/postgres/embedded.js";
import { withCosignatures } from "../witness/cosigned-checkpoints.js";
import { createWitnessSubmitter, type WitnessSubmitter } from "../witness/submitter.js";
import { createListeningWakeup, createLogNotifier, type LogWakeup } from "../follower/index.js";
import { startProjectionService, type ProjectionService } from "../projector/service.js";
import { openAccess } from "./access.js";
import { createCoreSealer } from "./archive-commands.js";
import type { SealerService } from "../archive/sealer.js";
import { createRelayService, type RelayService } from "../relay/index.js";
import { kafkaSasl, type ConfiguredSecrets } from "../secrets/index.js";

export interface RunningAnnal {
  url: string;
  /** Re-reads every credential now (SIGHUP); resolves the settings whose value changed. */
  refreshSecrets(this: void): Promise<string[]>;
  /** The current values of the configured secrets (log redaction only). */
  secretValues(this: void): string[];
  /** Seeded clients of the embedded development issuer (for the start-up banner only). */
  devClients: readonly DevClient[] | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: the only place that wires the store, the ledger, the signer,
 * metrics and the HTTP edge together.
 */
export async function serve(config: AnnalConfig, logger: Logger): Promise<RunningAnnal> {
  // Before opening anything: a refused production start must not touch the database.
  assertProductionReady(config);
  // The embedded issuer's URL goes into every token, so the port is fixed before listening.
  const port = config.port === 0 && config.auth === "oidc" && config.oidcIssuer === undefined ? await freePort() : config.port;
  const publicUrl = config.publicUrl ?? `http://${urlHost(config.host)}:${port}`;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const batchEvents = new Histogram({ name: "annal_commit_batch_events", help: "Events per group-commit transaction", buckets: [1, 4, 16, 64, 256, 1024, 4096], registers: [metrics] });
  const batchSeconds = new Histogram({ name: "annal_commit_batch_seconds", help: "Duration of a group-commit transaction", buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [metrics] });
  const appended = new Counter({ name: "annal_events_appended_total", help: "Events committed to the log", registers: [metrics] });

  const witnesses = config.witnesses;
  // Bound once the store is open; every batch commits a checkpoint worth witnessing.
  let submitter: WitnessSubmitter | undefined;
  // Followers in this process wake at once after a durable batch; those in other processes by NOTIFY.
  let logWakeup: LogWakeup | undefined;
  let notifier: ReturnType<typeof createLogNotifier> | undefined;
  let projections: ProjectionService | undefined;
  let sealer: SealerService | undefined;
  let relay: RelayService | undefined;
  const core = await openAnnal(config, logger, {
    // Bound once the projector runs: inline projections apply in each append transaction.
    inline: { active: () => projections?.projector.inline.active() ?? false, apply: (tx, events) => projections!.projector.inline.apply(tx, events) },
    onBatch: ({ events, durationMs }) => {
      batchEvents.observe(events);
      batchSeconds.observe(durationMs / 1000);
      appended.inc(events);
      submitter?.notify();
      if (events > 0) {
        logWakeup?.wake();
        notifier?.notify();
      }
    },
  });
  // How batches were written: optimistically pipelined, re-sent after reaching the head row
  // before the batch they extend, or under the head lock (the first, and after a conflict).
  new Counter({
    name: "annal_append_batches_total",
    help: "Append batches by how they were written: optimistic, resent (pipelined, sent again once), locked, conflict (an optimistic write that lost a race)",
    labelNames: ["path"],
    registers: [metrics],
    collect() {
      const stats = core.ledger.stats;
      this.reset();
      this.inc({ path: "optimistic" }, stats.optimisticBatches);
      this.inc({ path: "resent" }, stats.resent);
      this.inc({ path: "locked" }, stats.lockedBatches);
      this.inc({ path: "conflict" }, stats.conflicts);
    },
  });
  try {
    logWakeup = createListeningWakeup(core.connect, (error) => logger.warn({ err: error }, "LISTEN connection lost; followers poll until it is back"));
    notifier = createLogNotifier(core.pool);
    // --- Kafka relay (issue 9): on when ANNAL_KAFKA_BROKERS is set.
    if (config.kafkaBrokers.length > 0) {
      relay = createRelayService(
        { pool: core.pool, connect: core.connect, wakeup: logWakeup, logger, metrics },
        { brokers: config.kafkaBrokers, topic: config.kafkaTopic, origin: config.origin, partitions: config.kafkaPartitions, controlIntervalMs: config.kafkaControlIntervalMs, ...kafkaSasl(config, core.secrets) },
      );
      relay.start();
    }
    // --- end Kafka relay
    const cosignatures = createPostgresCosignatures(core.pool);
    const { reader, proofs } = withCosignatures(core.reader, core.proofs, cosignatures);
    submitter = createWitnessSubmitter({ latestCheckpoint: () => core.reader.latestCheckpoint(), consistencyProof: (a, b) => core.proofs.consistencyProof(a, b), store: cosignatures, witnesses, logger: logger.child({ component: "witnesses" }) });
    submitter.notify();
    projections = await startProjectionService({ pool: core.pool, connect: core.connect, wakeup: logWakeup, ledger: core.ledger, logger, metrics }, config);
    // --- archive (issue 10): the sealer follower; refuses a bucket without COMPLIANCE Object Lock at start-up.
    if (config.archive === undefined) logger.warn("no archive: sealed segments are off (set ANNAL_ARCHIVE=s3://bucket/prefix)");
    else {
      sealer = createCoreSealer(core, config, logger.child({ component: "archive" }), { wakeup: logWakeup });
      await sealer.start();
    }
    // --- end archive
    const { access, devProvider } = await openAccess(config, { publicUrl });
    const app = createApp(
      { ledger: core.ledger, reader, proofs, redactor: core.redactor, keys: { rotate: () => core.ledger.rotateKey() }, ready: core.ready, logger, metrics, access, identityProvider: devProvider, projections: projections?.api, effectiveConfig: () => maskedConfig(config, secretValues(core.secrets)) },
      { maxBodyBytes: config.maxBodyBytes, requestTimeoutMs: config.requestTimeoutMs, traceAppends: config.traceAppends, accessLog: config.accessLog },
    );
    const server = await startServer(app, { host: config.host, port });
    // Client ids only: secrets go to the terminal banner, never into JSON logs.
    logger.info(
      { url: server.url, keyId: core.signer.keyId, origin: config.origin, database: core.embedded ? "embedded" : "external", auth: config.auth, issuer: devProvider?.issuer ?? config.oidcIssuer, devClients: devProvider?.clients.map((c) => c.clientId) },
      "annal is listening",
    );
    if (config.auth === "off") logger.warn("authentication is OFF: anyone who reaches this port may append and read");
    return {
      url: server.url,
      refreshSecrets: () => core.secrets.refresh(),
      secretValues: () => [...secretValues(core.secrets), ...(devProvider?.clients.map((c) => c.clientSecret) ?? [])],
      devClients: devProvider?.clients,
      async close() {
        await server.close();
        await projections?.stop();
        await submitter?.close();
        await sealer?.stop();
        await relay?.stop();
        await logWakeup?.close();
        await notifier?.idle();
        await core.close();
      },
    };
  } catch (error) {
    await projections?.stop();
    await relay?.stop().catch(() => undefined);
    await logWakeup?.close();
    await sealer?.stop();
    await core.close();
    throw error;
  }
}

function secretValues(secrets: ConfiguredSecrets): string[] {
  return secrets.all.map((s) => s.current().reveal());
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * The quick-start hint printed by `npm start` (to the terminal, not the JSON log). With the
 * embedded issuer it lists the dev clients and shows how to get a token and append with it.
 */
export function exampleUsage(url: string, devClients?: readonly DevClient[]): string {
  const lines = ["", `Annal is running at ${url}  (API reference: ${url}/docs)`];
  let auth = "";
  if (devClients !== undefined && devClients.length > 0) {
    const writer = devClients.find((c) => c.role === "writer") ?? devClients[0]!;
    lines.push(
      `Development identity provider: ${url}/oidc  (client secrets are stored in $ANNAL_HOME/dev-clients.json)`,
      ...devClients.map((c) => `  ${c.role.padEnd(8)} client_id=${c.clientId}  client_secret=${c.clientSecret}`),
      "Get a token (client_credentials) as the writer:",
      `  TOKEN=$(curl -s -u '${writer.clientId}:${writer.clientSecret}' -d grant_type=client_credentials ${url}/oidc/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    );
    auth = ` -H "authorization: Bearer $TOKEN"`;
  }
  const auditor = devClients?.find((c) => c.role === "auditor");
  lines.push(
    "Append an event:",
    `  curl -s -X POST ${url}/streams/orders-1/events${auth} -H 'content-type: application/json' \\`,
    `    -d '{"events":[{"type":"OrderPlaced","data":{"total":42}}]}'`,
    "Read it back and verify the whole log:",
    `  curl -s ${url}/streams/orders-1/events${auth}`,
    // Verifying reads the whole log and its checkpoints: the auditor's token, not the writer's.
    auditor === undefined
      ? `  npx annal verify --url ${url}`
      : `  ANNAL_TOKEN=$(curl -s -u '${auditor.clientId}:${auditor.clientSecret}' -d grant_type=client_credentials ${url}/oidc/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/') npx annal verify --url ${url}`,
    "",
  );
  return lines.join("\n");
}
