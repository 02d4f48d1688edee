import type pg from "pg";
import type { Logger } from "pino";
import { PROJECTIONS_STREAM, ProjectionCutOver, ProjectionEventSkipped, ProjectionRebuildStarted } from "../../events/index.js";
import { LedgerError, type LtHashExpand } from "../core/index.js";
import { readFollowerStatus, setPaused, startFollower, type Follower, type LogWakeup } from "../follower/index.js";
import type { Ledger } from "../ledger/types.js";
import { createBuild, followerName, lockCatalog, readBuilds, syncCatalog, type BuildRow } from "./catalog.js";
import { commitmentLabel } from "./commitment.js";
import { tryCutOver, type CutOver } from "./cutover.js";
import type { LoadedProjection } from "./define.js";
import { createBuildRunner } from "./runner.js";
import { readProjectionStatus, type ProjectionStatus } from "./status.js";

export interface ProjectorDeps {
  pool: pg.Pool;
  connect: () => pg.Client;
  wakeup: LogWakeup;
  expand: LtHashExpand;
  /** Appends the system events of skips, rebuilds and cut-overs. Without it those operations are refused. */
  ledger?: Pick<Ledger, "append"> | undefined;
  logger?: Logger | undefined;
  /** Per committed batch (metrics). */
  onProgress?: (projection: string, build: number, position: number, events: number) => void;
}

export interface ProjectorOptions {
  projections: readonly LoadedProjection[];
  /** Events per transaction. Default 1000. */
  batchSize?: number;
  pollIntervalMs?: number;
  leaseRetryMs?: number;
  heartbeatMs?: number;
  /** How often the catalogue is re-read for builds started or retired elsewhere. Default 2000 ms. */
  reconcileMs?: number;
  /** Only run these builds (the CLI's rebuild runs just its own). Default: every active and building build. */
  only?: (build: BuildRow) => boolean;
}

export interface Projector {
  readonly projections: readonly LoadedProjection[];
  start(): Promise<void>;
  stop(): Promise<void>;
  status(name?: string): Promise<ProjectionStatus[]>;
  /** Resolves once the active build of `name` has applied the log up to `position`; ERR_PROJECTION_BEHIND after `timeoutMs`. */
  waitFor(name: string, position: number, timeoutMs: number): Promise<number>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  rebuild(name: string, actor: string): Promise<BuildRow>;
  skip(name: string, request: { position: number; reason: string; actor: string; build?: number }): Promise<{ build: number; ledgerPosition: number }>;
  /** Runs until the build is active (cut over) or failed; for the CLI. */
  runningFollower(projection: string, build: number): Follower | undefined;
}

/**
 * Runs the projections of `projections/`: one log follower per build (active, or
 * building beside it), cut-overs when a new build has caught up, and the operator's
 * actions, each recorded in the log.
 */
export function createProjector(deps: ProjectorDeps, options: ProjectorOptions): Projector {
  const { pool, logger } = deps;
  const byName = new Map(options.projections.map((p) => [p.definition.name, p]));
  const running = new Map<string, { build: BuildRow; follower: Follower }>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let reconciling: Promise<void> | undefined;
  let stopped = false;

  function projectionOf(name: string): LoadedProjection {
    const projection = byName.get(name);
    if (projection === undefined) throw new LedgerError("ERR_NOT_FOUND", `no projection named ${name}`, { details: { projection: name } });
    return projection;
  }

  async function appendSystemEvent(type: string, data: Record<string, unknown>): Promise<number> {
    if (deps.ledger === undefined) throw new LedgerError("ERR_UNAVAILABLE", "this process cannot append to the ledger (no signing key)");
    const receipt = await deps.ledger.append({ streamId: PROJECTIONS_STREAM, events: [{ type, data: data as never }], principal: "annal" });
    return receipt.events[0]!.position;
  }

  async function recordCutOver(cut: CutOver, actor: string): Promise<void> {
    logger?.info({ projection: cut.projection, from: cut.from, to: cut.to, position: cut.position }, "projection cut over to a new build");
    await appendSystemEvent(ProjectionCutOver.type, { projection: cut.projection, from: cut.from, to: cut.to, position: cut.position, commitment: commitmentLabel(cut.commitment), actor });
    void reconcile();
  }

  function startBuild(build: BuildRow): void {
    const projection = projectionOf(build.projection);
    const handler = createBuildRunner(
      {
        expand: deps.expand,
        logger,
        onProgress: async (b, position, events) => {
          deps.onProgress?.(b.projection, b.build, position, events);
          if (b.state === "building" && events < (options.batchSize ?? 1000)) await cutOverIfCaughtUp(b);
        },
        onIdle: (b) => (b.state === "building" ? cutOverIfCaughtUp(b) : undefined),
      },
      build,
      projection,
    );
    const follower = startFollower(
      { pool, connect: deps.connect, wakeup: deps.wakeup, logger },
      { name: followerName(build.projection, build.build), batchSize: options.batchSize, pollIntervalMs: options.pollIntervalMs, leaseRetryMs: options.leaseRetryMs, heartbeatMs: options.heartbeatMs },
      handler,
    );
    running.set(followerName(build.projection, build.build), { build, follower });
  }

  async function cutOverIfCaughtUp(build: BuildRow): Promise<void> {
    const cut = await tryCutOver(pool, build.projection, build.build);
    if (cut !== undefined) {
      build.state = "active";
      await recordCutOver(cut, "annal");
    }
  }

  /** Starts followers for builds that should run here, stops those retired. Failed ones wait for resume or skip. */
  async function reconcileOnce(): Promise<void> {
    if (stopped) return;
    const builds = (await readBuilds(pool)).filter((b) => byName.has(b.projection));
    const statuses = new Map((await readFollowerStatus(pool)).map((s) => [s.name, s]));
    for (const build of builds) {
      const name = followerName(build.projection, build.build);
      const current = running.get(name);
      const wanted = build.state !== "retired" && (options.only?.(build) ?? true);
      if (!wanted) {
        if (current !== undefined) {
          running.delete(name);
          await current.follower.stop();
        }
        continue;
      }
      if (current !== undefined) {
        current.build.state = build.state;
        const ended = current.follower.state === "failed" || current.follower.state === "stopped";
        if (!ended) continue;
        // Ended here; restart only once an operator has resumed it (the row is no longer `failed`).
        if (statuses.get(name)?.status === "failed") continue;
        running.delete(name);
      } else if (statuses.get(name)?.status === "failed") {
        // Failed before this process started: it stays failed until resumed or skipped.
        continue;
      }
      startBuild(build);
    }
  }

  function reconcile(): Promise<void> {
    reconciling ??= reconcileOnce()
      .catch((error: unknown) => logger?.warn({ err: error }, "projection reconcile failed; retrying"))
      .finally(() => (reconciling = undefined));
    return reconciling;
  }

  return {
    projections: options.projections,
    async start() {
      const tx = await pool.connect();
      let created: BuildRow[];
      try {
        await tx.query("BEGIN");
        ({ created } = await syncCatalog(tx, options.projections, deps.expand));
        await tx.query("COMMIT");
      } catch (error) {
        await tx.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        tx.release();
      }
      for (const build of created) {
        logger?.info({ projection: build.projection, build: build.build, version: build.version, state: build.state }, "projection build created");
        // A projection's first build is part of installing it, not an event of the log's history;
        // a build beside an active one (a new version) is a rebuild, and auditors see it.
        if (build.state === "building" && deps.ledger !== undefined) {
          const replaces = (await readBuilds(pool, build.projection)).find((b) => b.state === "active")?.build ?? null;
          await appendSystemEvent(ProjectionRebuildStarted.type, { projection: build.projection, build: build.build, version: build.version, codeHash: build.codeHash, replaces, actor: "annal" });
        }
      }
      await reconcile();
      timer = setInterval(() => void reconcile(), options.reconcileMs ?? 2000);
      timer.unref?.();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await reconciling;
      await Promise.all([...running.values()].map(({ follower }) => follower.stop()));
      running.clear();
    },
    status: (name) => readProjectionStatus(pool, name === undefined ? [...byName.keys()] : [projectionOf(name).definition.name]),
    async waitFor(name, position, timeoutMs) {
      projectionOf(name);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await pool.query<{ position: number }>("SELECT position FROM annal.projection_builds WHERE projection = $1 AND state = 'active'", [name]);
        const reached = rows[0]?.position ?? 0;
        if (reached >= position) return reached;
        if (Date.now() >= deadline) {
          throw new LedgerError("ERR_PROJECTION_BEHIND", `projection ${name} has applied the log up to position ${reached}, not yet ${position}; retry shortly`, {
            retriable: true,
            details: { projection: name, position: reached, requested: position, retryAfterSeconds: 1 },
          });
        }
        await deps.wakeup.wait(Math.min(50, Math.max(1, deadline - Date.now())));
      }
    },
    async pause(name) {
      for (const build of await activeAndBuilding(name)) await setPaused(pool, followerName(name, build.build), true);
      deps.wakeup.wake();
    },
    async resume(name) {
      for (const build of await activeAndBuilding(name)) {
        await pool.query(
          "UPDATE annal.followers SET paused = false, status = CASE WHEN status = 'failed' THEN 'idle' ELSE status END, updated_at = now() WHERE name = $1",
          [followerName(name, build.build)],
        );
      }
      deps.wakeup.wake();
      await reconcile();
    },
    async rebuild(name, actor) {
      const projection = projectionOf(name);
      const tx = await pool.connect();
      let build: BuildRow;
      let active: BuildRow | undefined;
      try {
        await tx.query("BEGIN");
        await lockCatalog(tx);
        const builds = await readBuilds(tx, name);
        active = builds.find((b) => b.state === "active");
        const existing = builds.find((b) => b.state === "building" && b.codeHash === projection.codeHash);
        build = existing ?? (await createBuild(tx, projection, active === undefined ? "active" : "building", deps.expand));
        await tx.query("COMMIT");
        if (existing !== undefined) return existing;
      } catch (error) {
        await tx.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        tx.release();
      }
      await appendSystemEvent(ProjectionRebuildStarted.type, { projection: name, build: build.build, version: build.version, codeHash: build.codeHash, replaces: active?.build ?? null, actor });
      await reconcile();
      return build;
    },
    async skip(name, { position, reason, actor, build: wanted }) {
      projectionOf(name);
      const build = wanted === undefined ? (await activeAndBuilding(name)).find((b) => b.state === "active") : (await readBuilds(pool, name)).find((b) => b.build === wanted);
      if (build === undefined) throw new LedgerError("ERR_NOT_FOUND", `projection ${name} has no such build`, { details: { projection: name } });
      if (position <= build.position) {
        throw new LedgerError("ERR_CONFLICT", `build ${build.build} of ${name} has already applied position ${position} (it is at ${build.position}); skipping is for events not yet applied`, {
          details: { projection: name, build: build.build, position: build.position },
        });
      }
      const { rows } = await pool.query<{ hash: Buffer }>("SELECT hash FROM annal.events WHERE position = $1 AND position <= (SELECT position FROM annal.durable_head WHERE id = 1)", [position]);
      const event = rows[0];
      if (event === undefined) throw new LedgerError("ERR_NOT_FOUND", `no committed event at position ${position}`, { details: { position } });
      const eventHash = event.hash.toString("base64");
      // The log records the decision first: no skip ever takes effect without its event.
      const ledgerPosition = await appendSystemEvent(ProjectionEventSkipped.type, { projection: name, build: build.build, position, eventHash, reason, actor });
      await pool.query(
        "INSERT INTO annal.projection_skips (projection, build, position, event_hash, reason, actor) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [name, build.build, position, event.hash, reason, actor],
      );
      await pool.query("UPDATE annal.followers SET status = 'idle', updated_at = now() WHERE name = $1 AND status = 'failed'", [followerName(name, build.build)]);
      deps.wakeup.wake();
      await reconcile();
      return { build: build.build, ledgerPosition };
    },
    runningFollower: (projection, build) => running.get(followerName(projection, build))?.follower,
  };

  async function activeAndBuilding(name: string): Promise<BuildRow[]> {
    projectionOf(name);
    return (await readBuilds(pool, name)).filter((b) => b.state !== "retired");
  }
}
