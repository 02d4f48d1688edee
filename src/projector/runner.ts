import type pg from "pg";
import type { Logger } from "pino";
import { createLtHash, LedgerError, type LtHash, type LtHashExpand } from "../core/index.js";
import type { FollowerHandler } from "../follower/index.js";
import { applyToBuild, createEventFilter } from "./apply.js";
import type { BuildRow } from "./catalog.js";
import type { LoadedProjection } from "./define.js";

export interface BuildRunnerDeps {
  expand: LtHashExpand;
  logger?: Logger | undefined;
  /** After each committed batch of this build (metrics, cut-over of a building build). */
  onProgress?: (build: BuildRow, position: number, events: number) => Promise<void> | void;
  /** When the build has caught up with the log. */
  onIdle?: (build: BuildRow, position: number) => Promise<void> | void;
}

/**
 * The follower handler of one build: applies each batch to the build's schema in the
 * follower's transaction and stores the moved commitment (and its position) in that same
 * transaction, so rows, commitment and cursor always agree, after a kill -9 too.
 */
export function createBuildRunner(deps: BuildRunnerDeps, build: BuildRow, projection: LoadedProjection): FollowerHandler {
  const filter = createEventFilter(projection);
  let commitment: LtHash = createLtHash(deps.expand, build.commitment);
  let pending: LtHash | undefined;
  const target = { schema: build.schema, projection, filter };

  async function load(pool: pg.Pool, position: number): Promise<void> {
    const { rows } = await pool.query<{ commitment: Buffer; position: number }>("SELECT commitment, position FROM annal.projection_builds WHERE projection = $1 AND build = $2", [
      build.projection,
      build.build,
    ]);
    const row = rows[0];
    if (row === undefined) throw new LedgerError("ERR_NOT_FOUND", `build ${build.build} of projection ${build.projection} does not exist`);
    // Cursor and commitment move in one transaction; a difference here means inline work
    // moved both between our two reads: read again.
    if (row.position !== position) {
      throw new LedgerError("ERR_CONFLICT", `projection ${build.projection} build ${build.build}: commitment at ${row.position}, cursor at ${position}; reading again`, {
        retriable: true,
        details: { position: position + 1 },
      });
    }
    commitment = createLtHash(deps.expand, new Uint8Array(row.commitment));
  }

  return {
    start: ({ cursor, pool }) => load(pool, cursor.position),
    // An inline build's cursor and commitment were moved in append transactions.
    resync: (cursor, { pool }) => load(pool, cursor.position),
    async handle(batch, { tx }) {
      const next = createLtHash(deps.expand, commitment.bytes());
      const skips = await readSkips(tx, build, batch.from.position + 1, batch.to.position);
      await applyToBuild(tx, target, batch.events, next, skips);
      await tx.query({
        name: "annal_projection_commitment",
        text: "UPDATE annal.projection_builds SET commitment = $3, position = $4 WHERE projection = $1 AND build = $2",
        values: [build.projection, build.build, Buffer.from(next.bytes()), batch.to.position],
      });
      pending = next;
    },
    async committed(batch) {
      if (pending !== undefined) commitment = pending;
      pending = undefined;
      await deps.onProgress?.(build, batch.to.position, batch.events.length);
    },
    async idle(cursor) {
      await deps.onIdle?.(build, cursor.position);
    },
  };
}

async function readSkips(tx: Pick<pg.ClientBase, "query">, build: BuildRow, from: number, to: number): Promise<Set<number>> {
  const { rows } = await tx.query<{ position: number }>({
    name: "annal_projection_skips",
    text: "SELECT position FROM annal.projection_skips WHERE projection = $1 AND build = $2 AND position BETWEEN $3 AND $4",
    values: [build.projection, build.build, from, to],
  });
  return new Set(rows.map((r) => r.position));
}
