import cliProgress from "cli-progress";
import { runProjectionsFromKafka, withKafkaRunOptions, type KafkaRunOptions } from "./kafka-commands.js";
import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { openAnnal } from "../annal.js";
import { loadConfig } from "../config.js";
import { LedgerError } from "../core/index.js";
import { createListeningWakeup } from "../follower/index.js";
import { createRowExpander } from "../projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../projector/loader.js";
import { createProjector } from "../projector/projector.js";
import { readProjectionStatus, type ProjectionStatus } from "../projector/status.js";
import { verifyProjection } from "../projector/verify.js";
import { createPool } from "../store/postgres/pool.js";
import { authHeaders } from "./http-client.js";

interface Target {
  url?: string;
  databaseUrl?: string;
}

const positiveInteger = (value: string): number => {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
};

/** `annal projections …`: status, verify, rebuild, pause, resume, skip, run. */
export function registerProjectionCommands(program: Command): void {
  const projections = program.command("projections").description("read models built from the log (docs/projections.md)");
  const withTarget = (command: Command) =>
    command
      .option("--url <url>", "a running Annal (admin routes; token in ANNAL_TOKEN)")
      .option("--database-url <url>", "the ledger's PostgreSQL (default $DATABASE_URL); actions that append to the log also need the ledger's signing key configuration");

  withTarget(projections.command("status").argument("[name]", "one projection (default all)").option("--json", "print JSON"))
    .description("status, position, lag, heartbeat, commitment and the log prefix each projection reflects")
    .action(async (name: string | undefined, opts: Target & { json?: boolean }) => {
      const statuses = await readStatus(target(opts), name);
      if (opts.json) console.log(JSON.stringify(statuses, null, 2));
      else for (const line of describeStatus(statuses)) console.log(line);
      if (statuses.some((s) => s.active?.status === "failed" || s.building.some((b) => b.status === "failed"))) process.exitCode = 1;
    });

  projections
    .command("verify")
    .argument("<name>", "projection")
    .option("--database-url <url>", "the ledger's PostgreSQL (default $DATABASE_URL)")
    .option("--no-progress", "no progress bar")
    .description("replay the log into a scratch schema and compare rows and commitment with the active build; exit 1 naming the first difference")
    .action(async (name: string, opts: { databaseUrl?: string; progress: boolean }) => {
      const url = databaseUrl(opts);
      const config = loadConfig();
      const [projection] = await loadProjections(config.projectionsDir ?? BUILT_IN_PROJECTIONS_DIR, [name]);
      const pool = createPool({ connectionString: url, role: config.databaseRole, max: 4, applicationName: "annal-projections-verify" });
      const bar = progressBar(opts.progress, "verify");
      try {
        const verdict = await verifyProjection(pool, projection!, await createRowExpander(), {
          onProgress: (position, total) => bar?.update(position, { total }) ?? undefined,
        });
        bar?.stop();
        if (verdict.ok) {
          console.log(`OK: projection ${name} build ${verdict.build} at position ${verdict.position}: ${verdict.rows} rows equal a replay of the log; commitment ${verdict.commitment}`);
        } else {
          console.error(`FAILED: projection ${name} build ${verdict.build} at position ${verdict.position}: ${verdict.reason}`);
          if (verdict.row !== undefined) console.error(`  ${verdict.table}: ${JSON.stringify(verdict.row)}`);
          process.exitCode = 1;
        }
      } finally {
        bar?.stop();
        await pool.end();
      }
    });

  withTarget(projections.command("rebuild").argument("<name>", "projection").option("--no-wait", "start it and return").option("--no-progress", "no progress bar"))
    .description("build a new copy of the projection from position 1 beside the active one, then cut over atomically (the old build stays, for rollback)")
    .action(async (name: string, opts: Target & { wait: boolean; progress: boolean }) => {
      const where = target(opts);
      if (where.url !== undefined) {
        const started = (await post(where.url, `/admin/projections/${name}/rebuild`)) as { build: number };
        console.log(`build ${started.build} of ${name} started`);
        if (opts.wait) await watchBuild(() => readStatus(where, name), name, started.build, opts.progress);
        return;
      }
      await withLocalProjector(where.databaseUrl!, name, async (projector) => {
        const build = await projector.rebuild(name, cliActor());
        console.log(`build ${build.build} of ${name} started (schema ${build.schema})`);
        if (opts.wait) await watchBuild(() => projector.status(name), name, build.build, opts.progress);
      });
    });

  for (const action of ["pause", "resume"] as const) {
    withTarget(projections.command(action).argument("<name>", "projection"))
      .description(action === "pause" ? "stop applying events (the projection keeps its lease and position)" : "apply events again, also after a failure")
      .action(async (name: string, opts: Target) => {
        const where = target(opts);
        if (where.url !== undefined) await post(where.url, `/admin/projections/${name}/${action}`);
        else await withLocalProjector(where.databaseUrl!, name, (projector) => projector[action](name), { run: false });
        console.log(`${name}: ${action}d`);
      });
  }

  withTarget(
    projections
      .command("skip")
      .argument("<name>", "projection")
      .requiredOption("--position <n>", "the event not to apply", positiveInteger)
      .requiredOption("--reason <text>", "why (recorded in the log)")
      .option("--build <n>", "the build (default the active one)", positiveInteger),
  )
    .description("do not apply one event to a projection: recorded first as a ProjectionEventSkipped event in the log")
    .action(async (name: string, opts: Target & { position: number; reason: string; build?: number }) => {
      const where = target(opts);
      const request = { position: opts.position, reason: opts.reason, ...(opts.build === undefined ? {} : { build: opts.build }) };
      const result = (where.url !== undefined
        ? await post(where.url, `/admin/projections/${name}/skip`, request)
        : await withLocalProjector(where.databaseUrl!, name, (projector) => projector.skip(name, { ...request, actor: cliActor() }), { run: false })) as { build: number; ledgerPosition: number };
      console.log(`${name} build ${result.build}: position ${opts.position} will not be applied; recorded in the log at position ${result.ledgerPosition}`);
    });

  // --from kafka (issue 9): the same projections in another database, fed from Kafka (src/cli/kafka-commands.ts).
  withKafkaRunOptions(
    projections
      .command("run")
      .argument("[names...]", "projections to run (default all)")
      .option("--database-url <url>", "the ledger's PostgreSQL (default $DATABASE_URL); with --from kafka, the database the read models are built in")
      .option("--from <source>", "ledger (default) or kafka: replay from a Kafka topic, verifying every event (docs/kafka.md)", "ledger"),
  )
    .description("run projections without the HTTP server, until interrupted")
    .action(async (names: string[], opts: { databaseUrl?: string; from: string } & KafkaRunOptions) => {
      if (opts.from === "kafka") return runProjectionsFromKafka(names, opts);
      if (opts.from !== "ledger") throw new InvalidArgumentError("--from must be ledger or kafka");
      const url = databaseUrl(opts);
      await withLocalProjector(url, names.length > 0 ? names : undefined, async () => {
        console.error("projections running; Ctrl-C to stop");
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
      });
    });
}

function target(opts: Target): Target {
  if (opts.url !== undefined && opts.databaseUrl !== undefined) throw new InvalidArgumentError("give --url or --database-url, not both");
  if (opts.url !== undefined) return { url: opts.url.replace(/\/+$/, "") };
  return { databaseUrl: databaseUrl(opts) };
}

function databaseUrl(opts: { databaseUrl?: string }): string {
  const url = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (!url) {
    throw new InvalidArgumentError("--database-url or DATABASE_URL is required (with `npm start`'s embedded database, talk to the server instead: --url http://127.0.0.1:8080 and an admin token in ANNAL_TOKEN)");
  }
  return url;
}

function cliActor(): string {
  return `cli:${process.env.USER ?? "unknown"}`;
}

async function readStatus(where: Target, name?: string): Promise<ProjectionStatus[]> {
  if (where.url !== undefined) {
    const path = name === undefined ? "/projections" : `/projections/${name}`;
    const body = await request("GET", where.url, path);
    return name === undefined ? (body as { projections: ProjectionStatus[] }).projections : [body as ProjectionStatus];
  }
  const config = loadConfig();
  const pool = createPool({ connectionString: where.databaseUrl!, role: config.databaseRole, max: 2, applicationName: "annal-projections" });
  try {
    const { rows } = await pool.query<{ projection: string }>("SELECT DISTINCT projection FROM annal.projection_builds WHERE $1::text IS NULL OR projection = $1 ORDER BY projection", [name ?? null]);
    if (name !== undefined && rows.length === 0) throw new LedgerError("ERR_NOT_FOUND", `no projection named ${name} in this database`);
    return await readProjectionStatus(pool, rows.map((r) => r.projection));
  } finally {
    await pool.end();
  }
}

/** The ledger core and a projector in this process, for actions that append to the log or run builds. */
async function withLocalProjector<T>(url: string, names: string | readonly string[] | undefined, work: (projector: ReturnType<typeof createProjector>) => Promise<T>, options: { run?: boolean } = {}): Promise<T> {
  const config = loadConfig({ ...process.env, DATABASE_URL: url });
  const logger = pino({ level: process.env.ANNAL_LOG_LEVEL ?? "warn" });
  const wanted = typeof names === "string" ? [names] : names;
  const projections = await loadProjections(config.projectionsDir ?? BUILT_IN_PROJECTIONS_DIR, wanted);
  const core = await openAnnal(config, logger);
  const wakeup = createListeningWakeup(core.connect);
  const projector = createProjector(
    { pool: core.pool, connect: core.connect, wakeup, expand: await createRowExpander(), ledger: core.ledger, logger },
    { projections, batchSize: config.projectionBatchSize, ...(options.run === false ? { only: () => false } : {}) },
  );
  try {
    await projector.start();
    return await work(projector);
  } finally {
    await projector.stop();
    await wakeup.close();
    await core.close();
  }
}

async function watchBuild(read: () => Promise<ProjectionStatus[]>, name: string, build: number, progress: boolean): Promise<void> {
  const bar = progressBar(progress, `rebuild ${name}`);
  try {
    for (;;) {
      const [status] = await read();
      if (status?.active?.build === build) {
        bar?.update(status.active.position, { total: status.active.position });
        bar?.stop();
        console.log(`cut over: ${name} build ${build} is active at position ${status.active.position}, commitment ${status.active.commitment}`);
        return;
      }
      const building = status?.building.find((b) => b.build === build);
      if (building === undefined) throw new LedgerError("ERR_NOT_FOUND", `build ${build} of ${name} is neither building nor active any more`);
      if (building.status === "failed") throw new LedgerError("ERR_PROJECTION_FAILED", `build ${build} of ${name} failed at position ${building.error?.position}: ${building.error?.message}`);
      bar?.setTotal(building.position + building.lagEvents);
      bar?.update(building.position);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    bar?.stop();
  }
}

function progressBar(enabled: boolean, label: string): cliProgress.SingleBar | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(1, 0);
  return bar;
}

function describeStatus(statuses: readonly ProjectionStatus[]): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    for (const b of [s.active, ...s.building]) {
      if (b === null) continue;
      lines.push(
        `${s.name} build ${b.build} (v${b.version}, ${b.state}): ${b.status}${b.healthy ? "" : " UNHEALTHY"} at ${b.position}, lag ${b.lagEvents} events / ${b.lagSeconds.toFixed(1)} s, heartbeat ${b.heartbeatAgeSeconds === null ? "never" : `${b.heartbeatAgeSeconds.toFixed(1)} s ago`}`,
        `  commitment ${b.commitment}; log size ${b.log.treeSize} root ${b.log.rootHash ?? "-"}${b.log.checkpoint ? `, signed checkpoint ${b.log.checkpoint.treeSize}` : ""}`,
      );
      if (b.error) lines.push(`  error ${b.error.code} at position ${b.error.position}: ${b.error.message}`);
    }
    if (s.active === null) lines.push(`${s.name}: no active build`);
  }
  return lines;
}

async function post(base: string, path: string, body?: unknown): Promise<unknown> {
  return request("POST", base, path, body);
}

async function request(method: "GET" | "POST", base: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...authHeaders() },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text;
    try {
      const problem = JSON.parse(text) as { code?: string; detail?: string };
      detail = `${problem.code ?? ""} ${problem.detail ?? text}`.trim();
    } catch {
      // not a problem document
    }
    throw new LedgerError("ERR_UNAVAILABLE", `${method} ${path} answered ${response.status}: ${detail}`);
  }
  return JSON.parse(text) as unknown;
}
