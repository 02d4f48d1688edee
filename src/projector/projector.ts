import type pg from "pg";
import type { Logger } from "pino";
import { PROJECTIONS_STREAM, ProjectionCutOver, ProjectionEventSkipped, ProjectionRebuildStarted } from "../../events/index.js";
import { createLtHash, LedgerError, type LtHashExpand } from "../core/index.js";
import { readFollowerStatus, setPaused, startFollower, type Follower, type LogWakeup } from "../follower/index.js";
import type { Ledger } from "../ledger/types.js";
import type { InlineWork } from "../ledger/postgres-ledger.js";
import { applyToBuild, createEventFilter, type EventFilter } from "./apply.js";
import { inTransaction } from "../store/postgres/transaction.js";
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
  /** For the ledger (LedgerDeps.inline): applies inline projections in the append transaction. */
  readonly inline: InlineWork;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(name?: string): Promise<ProjectionStatus[]>;
  /** Resolves once the active build of `name` has applied the log up to `position`; ERR_PROJECTION_BEHIND after `timeoutMs`. */
  waitFor(name: string, position: number, timeoutMs: number): Promise<number>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  rebuild(name: string, actor: string): Promise<BuildRow>;
  skip(name: string, request: { position: number; reason: string; actor: string; build?: number }): Promise<{ build: number; ledgerPosition: number }>;
  /** The follower of a build, when this instance runs it (standby or active). */
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
  // Active builds of inline projections, refreshed by reconcile.
  let inlineTargets: Array<{ build: BuildRow; target: { schema: string; projection: LoadedProjection; filter: EventFilter }; follower: string }> = [];

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
      {
        name: followerName(build.projection, build.build),
        batchSize: options.batchSize,
        payloads: projection.definition.payloads ?? true,
        sharedCursor: projection.definition.mode === "inline", pollIntervalMs: options.pollIntervalMs,
        leaseRetryMs: options.leaseRetryMs,
        heartbeatMs: options.heartbeatMs,
      },
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
    inlineTargets = builds
      .filter((b) => b.state === "active" && byName.get(b.projection)!.definition.mode === "inline")
      .map((b) => {
        const projection = byName.get(b.projection)!;
        return { build: b, target: { schema: b.schema, projection, filter: createEventFilter(projection) }, follower: followerName(b.projection, b.build) };
      });
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

  /**
   * Inline projections in the append transaction. Each build's cursor moves only if it
   * stands exactly before this batch (compare-and-set on position and hash); otherwise its
   * follower is behind or paused and will apply these events itself. A handler error is
   * rolled back to a savepoint and leaves the cursor where it was: the append commits,
   * and the follower meets the event and stops there, as for an async projection.
   */
  const inline: InlineWork = {
    active: () => inlineTargets.length > 0,
    async apply(tx, events) {
      const first = events[0];
      const last = events[events.length - 1];
      if (first === undefined || last === undefined) return;
      for (const { build, target, follower } of inlineTargets) {
        await tx.query("SAVEPOINT annal_inline");
        try {
          const moved = await tx.query({
            name: "annal_inline_cursor",
            text: `UPDATE annal.followers SET position = $2, last_hash = $3, progressed_at = now(), updated_at = now()
                   WHERE name = $1 AND position = $4 AND last_hash = $5 AND NOT paused AND status <> 'failed'`,
            values: [follower, last.position, Buffer.from(last.hash, "base64"), first.position - 1, Buffer.from(first.prevHash, "base64")],
          });
          if (moved.rowCount !== 1) {
            await tx.query("RELEASE SAVEPOINT annal_inline");
            continue;
          }
          const { rows } = await tx.query<{ commitment: Buffer }>("SELECT commitment FROM annal.projection_builds WHERE projection = $1 AND build = $2", [build.projection, build.build]);
          const commitment = createLtHash(deps.expand, new Uint8Array(rows[0]!.commitment));
          const skips = await tx.query<{ position: number }>("SELECT position FROM annal.projection_skips WHERE projection = $1 AND build = $2 AND position BETWEEN $3 AND $4", [
            build.projection,
            build.build,
            first.position,
            last.position,
          ]);
          await applyToBuild(tx, target, events, commitment, new Set(skips.rows.map((r) => r.position)));
          await tx.query("UPDATE annal.projection_builds SET commitment = $3, position = $4 WHERE projection = $1 AND build = $2", [build.projection, build.build, Buffer.from(commitment.bytes()), last.position]);
          await tx.query("RELEASE SAVEPOINT annal_inline");
        } catch (error) {
          await tx.query("ROLLBACK TO SAVEPOINT annal_inline");
          logger?.warn({ err: error, projection: build.projection, position: first.position }, "inline projection could not apply a batch; its follower takes over");
        }
      }
    },
  };

  return {
    projections: options.projections,
    inline,
    async start() {
      const { created } = await inTransaction(pool, (tx) => syncCatalog(tx, options.projections, deps.expand));
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
      // A receipt is only given once its position is durable, so a position past the
      // durable head names no receipt: the client's mistake (400), not a read model behind.
      const head = await pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
      const durable = head.rows[0]?.position ?? 0;
      if (position > durable) {
        throw new LedgerError("ERR_INVALID_INPUT", `position ${position} is beyond the log (${durable} events are durable): no receipt names it`, {
          details: { parameter: "minPosition", durablePosition: durable },
        });
      }
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
      const { build, active, existing } = await inTransaction(pool, async (tx) => {
        await lockCatalog(tx);
        const builds = await readBuilds(tx, name);
        const active = builds.find((b) => b.state === "active");
        const existing = builds.find((b) => b.state === "building" && b.codeHash === projection.codeHash);
        const build = existing ?? (await createBuild(tx, projection, active === undefined ? "active" : "building", deps.expand));
        return { build, active, existing };
      });
      if (existing !== undefined) return existing;
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
