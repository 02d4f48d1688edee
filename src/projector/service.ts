import { Counter, Gauge, type Registry } from "prom-client";
import type pg from "pg";
import type { Logger } from "pino";
import type { AnnalConfig } from "../config.js";
import { LedgerError } from "../core/index.js";
import type { LogWakeup } from "../follower/index.js";
import type { Ledger } from "../ledger/types.js";
import type { ProjectionsApi } from "../api/context.js";
import { createRowExpander } from "./commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "./loader.js";
import { createProjector, type Projector } from "./projector.js";
import type { BuildStatus } from "./status.js";
import { createStreamCatalog } from "./stream-catalog.js";

export interface ProjectionService {
  projector: Projector;
  api: ProjectionsApi;
  stop(): Promise<void>;
}

/** Loads the configured projections, syncs the catalogue and starts their followers; undefined when ANNAL_PROJECTIONS=none. */
export async function startProjectionService(
  deps: { pool: pg.Pool; connect: () => pg.Client; wakeup: LogWakeup; ledger: Pick<Ledger, "append">; logger: Logger; metrics?: Registry },
  config: Pick<AnnalConfig, "projections" | "projectionsDir" | "projectionBatchSize" | "readWaitMs" | "commitMode">,
): Promise<ProjectionService | undefined> {
  if (config.projections === "none") return undefined;
  const projections = await loadProjections(config.projectionsDir ?? BUILT_IN_PROJECTIONS_DIR, config.projections === "all" ? undefined : config.projections);
  const inline = projections.filter((p) => p.definition.mode === "inline").map((p) => p.definition.name);
  if (inline.length > 0 && config.commitMode === "flush") {
    // In flush mode a batch commits before it is durable: inline rows would be visible for events a crash can take back.
    throw new LedgerError("ERR_CONFIG", `inline projections (${inline.join(", ")}) need ANNAL_COMMIT_MODE=sync`);
  }
  const applied = deps.metrics === undefined ? undefined : new Counter({ name: "annal_projection_events_total", help: "Events applied per projection build (including events it does not consume)", labelNames: ["projection", "build"], registers: [deps.metrics] });
  const projector = createProjector(
    {
      pool: deps.pool,
      connect: deps.connect,
      wakeup: deps.wakeup,
      expand: await createRowExpander(),
      ledger: deps.ledger,
      logger: deps.logger.child({ component: "projector" }),
      onProgress: (projection, build, _position, events) => applied?.inc({ projection, build: String(build) }, events),
    },
    { projections, batchSize: config.projectionBatchSize },
  );
  await projector.start();
  if (deps.metrics !== undefined) registerStatusGauges(deps.metrics, projector);
  const catalog = createStreamCatalog(deps.pool);
  const api: ProjectionsApi = {
    status: (name) => projector.status(name),
    waitFor: (name, position, timeoutMs) => projector.waitFor(name, position, timeoutMs),
    pause: (name) => projector.pause(name),
    resume: (name) => projector.resume(name),
    rebuild: (name, actor) => projector.rebuild(name, actor),
    skip: (name, request) => projector.skip(name, request),
    listStreams: (query) => catalog.list(query),
    readWaitMs: config.readWaitMs,
  };
  deps.logger.info({ projections: projections.map((p) => `${p.definition.name}@${p.definition.version}`) }, "projections running");
  return { projector, api, stop: () => projector.stop() };
}

/** Lag and heartbeat age per build, read from the database at scrape time (what every instance sees). */
function registerStatusGauges(metrics: Registry, projector: Projector): void {
  const gauges: Array<{ name: string; help: string; value: (b: BuildStatus) => number }> = [
    { name: "annal_projection_lag_events", help: "Events committed to the log and not yet applied, per projection build", value: (b) => b.lagEvents },
    { name: "annal_projection_lag_seconds", help: "Age of the oldest event not yet applied, per projection build", value: (b) => b.lagSeconds },
    {
      name: "annal_projection_heartbeat_age_seconds",
      help: "Seconds since the projection's follower loop last beat (a dead follower's grows)",
      value: (b) => b.heartbeatAgeSeconds ?? Number.POSITIVE_INFINITY,
    },
  ];
  for (const { name, help, value } of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ["projection", "build", "state"],
      registers: [metrics],
      async collect() {
        this.reset();
        for (const p of await projector.status()) {
          for (const b of [p.active, ...p.building]) if (b !== null) this.set({ projection: p.name, build: String(b.build), state: b.state }, value(b));
        }
      },
    });
  }
}
