import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { isLedgerError } from "../core/index.js";
import { loadConfig } from "../config.js";
import { migrate } from "../store/postgres/migrate.js";
import { createPool } from "../store/postgres/pool.js";
import { registerArchiveCommands, runBundleVerify } from "./archive-commands.js";
import { registerAuditCommands, runAuditVerify } from "./audit-commands.js";
import { registerProjectionCommands } from "./projection-commands.js";
import { registerKafkaCommands } from "./kafka-commands.js";
import { registerKeyCommands } from "./key-commands.js";
import { createDatabaseSource, createHttpSource, parsePinnedKey } from "./event-sources.js";
import { exampleUsage, serve } from "./serve.js";
import { verifyLog } from "./verify.js";
import { stopOnSignals } from "./shutdown.js";
import { createLogRedaction } from "../secrets/index.js";

const program = new Command("annal").description("Annal: an append-only, hash-chained, signed event ledger").showHelpAfterError();

program
  .command("serve")
  .description("run the ledger service (embedded PostgreSQL unless DATABASE_URL is set)")
  .action(async () => {
    const config = loadConfig();
    const redaction = createLogRedaction();
    const logger = pino({ level: config.logLevel, base: { service: "annal" }, hooks: { streamWrite: redaction.streamWrite } });
    const running = await serve(config, logger);
    redaction.setValues(running.secretValues);
    // Client secrets of the development issuer go to an interactive terminal only, never to a
    // log collector reading stderr.
    process.stderr.write(exampleUsage(running.url, process.stderr.isTTY ? running.devClients : running.devClients?.map((c) => ({ ...c, clientSecret: "<see $ANNAL_HOME/dev-clients.json>" }))));
    stopOnSignals(logger, "shutting down: draining appends", () => running.close());
    // SIGHUP: re-read every credential now (they are also re-read on their own TTL).
    process.on("SIGHUP", () => {
      running.refreshSecrets().then(
        (changed) => logger.info({ changed }, "SIGHUP: credentials re-read"),
        (error: unknown) => logger.error({ err: error }, "SIGHUP: re-reading credentials failed; the last values stay in use"),
      );
    });
  });

program
  .command("migrate")
  .description("apply the database migrations (also done at start-up) and exit")
  .option("--database-url <url>", "PostgreSQL URL (default: $DATABASE_URL)")
  .action(async (opts: { databaseUrl?: string }) => {
    const url = opts.databaseUrl ?? process.env.DATABASE_URL;
    if (!url) throw new InvalidArgumentError("--database-url or DATABASE_URL is required");
    const pool = createPool({ connectionString: url, max: 1, applicationName: "annal-migrate" });
    try {
      const { applied, current } = await migrate(pool);
      console.log(applied.length === 0 ? `up to date (version ${current})` : applied.map((m) => `applied ${m.version} ${m.name}`).join("\n"));
    } finally {
      await pool.end();
    }
  });

const collect = (value: string, previous: string[]) => [...previous, value];

program
  .command("verify")
  .description("recompute every hash, chain link, signature and checkpoint root; exit 1 at the first bad position")
  .option("--database-url <url>", "verify the log in this PostgreSQL database")
  .option("--url <url>", "verify the log served by a running Annal")
  .option("--witness <state-file>", "with --url: check the latest checkpoint is consistent with the one saved in this file, then save it")
  .option("--witness-key <vkey>", "with --witness or --bundle: a witness you trust (C2SP cosignature/v1 verifier key); repeatable", collect, [])
  .option("--quorum <n>", "with --witness-key: how many trusted witnesses must have cosigned the latest checkpoint (default 1)", (v: string) => {
    if (!/^[1-9][0-9]{0,3}$/.test(v)) throw new InvalidArgumentError("must be a positive integer");
    return Number(v);
  })
  .option("--file <export>", "verify an `annal export` file offline")
  .option("--bundle <file>", "verify one sealed segment bundle (.tar from the archive) offline; needs --public-key")
  .option("--public-key <key>", "trust only this key (C2SP verifier key or base64 Ed25519); repeatable", collect, [])
  .option("--origin <origin>", "expected checkpoint origin")
  .option("--fast", "skip per-event signatures (chain, hashes and checkpoint signatures only)")
  .option("--no-progress", "no progress bar")
  .action(async (opts: { databaseUrl?: string; url?: string; witness?: string; witnessKey: string[]; quorum?: number; file?: string; bundle?: string; publicKey: string[]; origin?: string; fast?: boolean; progress: boolean }) => {
    if (opts.bundle) return runBundleVerify({ ...opts, bundle: opts.bundle });
    if (opts.witnessKey.length > 0 && !opts.witness) throw new InvalidArgumentError("--witness-key needs --witness or --bundle");
    if (opts.witness || opts.file) return runAuditVerify(opts);
    if (!opts.databaseUrl === !opts.url) throw new InvalidArgumentError("give exactly one of --database-url or --url");
    const source = opts.url ? createHttpSource(opts.url) : createDatabaseSource(opts.databaseUrl!);
    try {
      const report = await verifyLog(source, {
        pinnedKeys: opts.publicKey.length > 0 ? opts.publicKey.map(parsePinnedKey) : undefined,
        ...(opts.origin ? { origin: opts.origin } : {}),
        fast: opts.fast ?? false,
        progress: opts.progress && process.stderr.isTTY,
      });
      if (report.ok) {
        console.log(`OK: ${report.events} events and ${report.checkpoints} checkpoints verified (${source.describe}); root ${report.root}`);
        if (opts.publicKey.length === 0) console.log("note: keys were taken from the source itself; pass --public-key to pin the ledger key you trust");
      } else {
        console.error(`FAILED at position ${report.position}: ${report.reason}${report.code ? ` (${report.code})` : ""}`);
        console.error(`(${report.events} events and ${report.checkpoints} checkpoints verified before it)`);
        process.exitCode = 1;
      }
    } finally {
      await source.close();
    }
  });

registerAuditCommands(program);
registerProjectionCommands(program);
registerArchiveCommands(program);
registerKafkaCommands(program);
registerKeyCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (isLedgerError(error)) console.error(`annal: ${error.code}: ${error.message}`);
  else console.error(`annal: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
