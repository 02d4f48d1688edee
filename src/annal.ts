import { join } from "node:path";
import type pg from "pg";
import type { Logger } from "pino";
import type { AnnalConfig } from "./config.js";
import { loadOrCreateDevKey, maskKeyUri, openSigner, type Signer } from "./keys/index.js";
import { createPostgresLedger, registerSigningKey, type InlineWork, type KeyRotation, type Ledger, type LedgerStats } from "./ledger/index.js";
import { createPostgresRedactor, type Redactor } from "./ledger/redaction.js";
import { createDatabaseGate, type DatabaseGate } from "./ledger/database-gate.js";
import { startEmbeddedPostgres } from "./store/postgres/embedded.js";
import { isMigrated, migrate } from "./store/postgres/migrate.js";
import { isConnectionError } from "./store/postgres/errors.js";
import { createClient, createPool } from "./store/postgres/pool.js";
import { createDatabasePassword } from "./store/postgres/rotating-password.js";
import { openConfiguredSecrets, type ConfiguredSecrets } from "./secrets/index.js";
import { createPostgresProofs, type PostgresProofs } from "./store/postgres/proofs.js";
import { createPostgresReader } from "./store/postgres/reader.js";

export interface AnnalCore {
  ledger: Ledger & { readonly queued: number; readonly stats: LedgerStats; rotateKey(): Promise<KeyRotation> };
  reader: ReturnType<typeof createPostgresReader>;
  proofs: PostgresProofs;
  redactor: Redactor;
  signer: Signer;
  /** ANNAL_NEXT_SIGNING_KEY, when set: the key a rotation puts in force. */
  nextSigner: Signer | undefined;
  pool: pg.Pool;
  /** A new, unconnected dedicated connection as the application role (follower leases, LISTEN). */
  connect: () => pg.Client;
  databaseUrl: string;
  embedded: boolean;
  /** Closed while the database does not answer; appends are refused fast meanwhile. */
  gate: DatabaseGate;
  /** The configured credentials, watched for rotation (SIGHUP re-reads them: `secrets.refresh()`). */
  secrets: ConfiguredSecrets;
  /** Readiness, answered within the statement timeout (never hangs); false while the gate is closed. */
  ready: () => Promise<boolean>;
  close: () => Promise<void>;
}

export interface OpenOptions {
  /** Called per committed batch (metrics). */
  onBatch?: (stats: { requests: number; events: number; durationMs: number }) => void;
  /** Inline projections, run in each append transaction (see LedgerDeps.inline). */
  inline?: InlineWork;
  /** Credentials opened by the caller (then the caller closes them); else openAnnal opens and closes them. */
  secrets?: ConfiguredSecrets;
}

/**
 * Opens the ledger: the database (external, or embedded under ANNAL_HOME), migrations
 * under the advisory lock, the signing key, and the group-commit writer. The HTTP
 * server is wired on top by `annal serve`.
 */
export async function openAnnal(config: AnnalConfig, logger: Logger, options: OpenOptions = {}): Promise<AnnalCore> {
  let databaseUrl = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!databaseUrl) {
    const dir = join(config.home, "postgres");
    logger.info({ dir }, "starting embedded PostgreSQL (set DATABASE_URL to use an external one)");
    const pgLog = logger.child({ component: "postgres" });
    const handle = await startEmbeddedPostgres(
      dir,
      (message) => pgLog.debug(message.trim()),
      (message) => pgLog.warn(message),
    );
    databaseUrl = handle.localUrl;
    stopEmbedded = handle.stop;
  }
  const pools: pg.Pool[] = [];
  let secrets = options.secrets;
  try {
    secrets ??= await openConfiguredSecrets(config, logger);
    // Every pool and session asks for the current password when it connects; after a
    // rotation, pooled connections opened with the old one drain (rotating-password.ts).
    const password = secrets.databasePassword === undefined ? undefined : createDatabasePassword(secrets.databasePassword);
    // Migrations run as the login role (they create objects); the service runs as the
    // application role, which may only INSERT into the log.
    const admin = createPool({ connectionString: databaseUrl, max: 1, applicationName: "annal-migrate", password });
    pools.push(admin);
    const { applied } = await migrate(admin);
    for (const m of applied) logger.info({ migration: m.version, name: m.name }, "applied migration");

    const signer = await openLedgerSigner(config, logger);
    // A PKCS#11 signer holds worker threads and a session: closed if opening goes no further.
    await registerSigningKey(admin, signer).catch(async (error: unknown) => {
      await signer.close();
      throw error;
    });
    const nextSigner = config.nextSigningKey === undefined ? undefined
      : await openSigner(config.nextSigningKey, { noteName: config.origin, signWorkers: config.signWorkers }).catch(async (error: unknown) => {
        await signer.close();
        throw error;
      });
    if (nextSigner) logger.info({ keyId: signer.keyId, nextKeyId: nextSigner.keyId, nextKey: maskKeyUri(config.nextSigningKey!) }, "holding the next signing key: it signs once a rotation puts it in force");
    await admin.end();
    pools.pop();

    const bounded = { connectTimeoutMs: config.databaseConnectTimeoutMs, statementTimeoutMs: config.databaseStatementTimeoutMs };
    const pool = createPool({ connectionString: databaseUrl, role: config.databaseRole, max: 10, password, ...bounded });
    pools.push(pool);
    // The probe has a connection of its own, so reads queued on a stalled `pool` never
    // delay noticing that the database is back.
    const probePool = createPool({ connectionString: databaseUrl, role: config.databaseRole, max: 1, applicationName: "annal-probe", password, ...bounded });
    pools.push(probePool);
    const gate = createDatabaseGate(
      { probe: () => probePool.query("SELECT 1"), onChange: (available, cause) => (available ? logger.info("database reachable again; appends resume") : logger.error({ err: cause }, "database not answering; refusing appends until it does")) },
    );
    // In `flush` mode batch writes commit without waiting for the disk, and the ledger
    // answers an append only after a synchronous write on `pool` has flushed the WAL past
    // it (durable-flush.ts); in `sync` mode every batch commit waits for the disk.
    const writePool = createPool({
      connectionString: databaseUrl,
      role: config.databaseRole,
      max: config.maxBatchesInFlight + 1,
      applicationName: "annal-writer",
      settings: { synchronous_commit: config.commitMode === "flush" ? "off" : "on" },
      password,
      ...bounded,
    });
    pools.push(writePool);
    const ledger = createPostgresLedger(
      { pool, writePool, signer, ...(nextSigner ? { nextSigner } : {}), gate, ...(options.onBatch ? { onBatch: options.onBatch } : {}), ...(options.inline ? { inline: options.inline } : {}) },
      {
        origin: config.origin,
        maxBatchEvents: config.maxBatchEvents,
        maxQueuedEvents: config.maxQueuedEvents,
        maxBatchesInFlight: config.maxBatchesInFlight,
        commitMode: config.commitMode,
        appendTimeoutMs: config.requestTimeoutMs - 500,
        keyOverlapSeconds: config.keyOverlapSeconds,
      },
    );
    const reader = createPostgresReader(pool);
    return {
      ledger,
      reader,
      proofs: createPostgresProofs(pool),
      redactor: createPostgresRedactor(pool, ledger),
      signer,
      nextSigner,
      pool,
      connect: () => createClient({ connectionString: databaseUrl, role: config.databaseRole, applicationName: "annal-follower", password }),
      databaseUrl,
      embedded: stopEmbedded !== undefined,
      gate,
      secrets,
      // Within 1.5 s however long the database timeouts are: orchestrators probe with short timeouts.
      ready: () => readiness(gate, () => isMigrated(probePool), Math.min(1500, config.databaseStatementTimeoutMs)),
      async close() {
        await ledger.close();
        gate.close();
        await signer.close();
        await nextSigner?.close();
        await writePool.end();
        await probePool.end();
        await pool.end();
        if (options.secrets === undefined) await secrets!.close();
        await stopEmbedded?.();
      },
    };
  } catch (error) {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    if (options.secrets === undefined) await secrets?.close();
    await stopEmbedded?.();
    throw error;
  }
}

/**
 * Ready when the gate is open and the migrations check answers within `timeoutMs`. A
 * check that does not answer in time closes the gate too: readiness and the append path
 * agree about the database.
 */
async function readiness(gate: DatabaseGate, check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  if (!gate.available) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  try {
    const result = await Promise.race([check(), timedOut]);
    if (result === "timeout") {
      gate.reportDown(new Error(`readiness check took longer than ${timeoutMs} ms`));
      return false;
    }
    return result;
  } catch (error) {
    if (isConnectionError(error)) gate.reportDown(error);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function openLedgerSigner(config: AnnalConfig, logger: Logger): Promise<Signer> {
  if (config.signingKey !== undefined) {
    const signer = await openSigner(config.signingKey, { noteName: config.origin, signWorkers: config.signWorkers });
    logger.info({ keyId: signer.keyId, key: maskKeyUri(config.signingKey) }, "opened the signing key");
    return signer;
  }
  const path = join(config.home, "dev-signing-key.pem");
  const { signer, created } = await loadOrCreateDevKey(path, config.origin, config.signWorkers);
  logger.warn({ keyId: signer.keyId, path, created }, created ? "generated a DEVELOPMENT signing key (not for production)" : "using the DEVELOPMENT signing key (not for production)");
  return signer;
}
