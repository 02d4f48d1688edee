import type pg from "pg";
import { equalBytes, LedgerError, type LtHashExpand } from "../core/index.js";
import { readCommittedAfter } from "../follower/index.js";
import { checkContiguity, GENESIS_CURSOR, advanceCursor } from "../follower/index.js";
import { readBuilds } from "./catalog.js";
import { commitmentLabel, ident, readModelTables, recomputeCommitment } from "./commitment.js";
import type { LoadedProjection } from "./define.js";
import { createScratchBuild } from "./replay.js";

export type ProjectionVerdict =
  | { ok: true; projection: string; build: number; position: number; commitment: string; rows: number }
  | { ok: false; projection: string; build: number; position: number; reason: string; table?: string; row?: unknown };

/**
 * Replays the log into a scratch schema up to the active build's position and compares:
 * the stored commitment with one recomputed from the live rows (catches a row changed
 * behind the projector's back, even with triggers off), the replay's commitment, and the
 * rows themselves table by table (names the first differing row). The live build is
 * held still (its catalogue row share-locked) only for the final comparison.
 */
export async function verifyProjection(
  pool: pg.Pool,
  projection: LoadedProjection,
  expand: LtHashExpand,
  options: { batchSize?: number; onProgress?: (position: number, target: number) => void } = {},
): Promise<ProjectionVerdict> {
  const name = projection.definition.name;
  const active = (await readBuilds(pool, name)).find((b) => b.state === "active");
  if (active === undefined) throw new LedgerError("ERR_NOT_FOUND", `projection ${name} has no active build`, { details: { projection: name } });
  if (active.codeHash !== projection.codeHash) {
    return { ok: false, projection: name, build: active.build, position: active.position, reason: `the active build was made from other code (${active.codeHash.slice(0, 12)}…) than ${projection.source} (${projection.codeHash.slice(0, 12)}…)` };
  }
  const scratch = await createScratchBuild(pool, projection, expand, "verify");
  const batchSize = options.batchSize ?? 2000;
  let cursor = GENESIS_CURSOR;
  const skips = new Set(
    (await pool.query<{ position: number }>("SELECT position FROM annal.projection_skips WHERE projection = $1 AND build = $2", [name, active.build])).rows.map((r) => r.position),
  );
  const replayTo = async (target: number) => {
    while (cursor.position < target) {
      const events = (await readCommittedAfter(pool, cursor.position, Math.min(batchSize, target - cursor.position))).filter((e) => e.position <= target);
      if (events.length === 0) throw new LedgerError("ERR_LOG_GAP", `the log ends at ${cursor.position}, before the build's position ${target}`, { details: { position: cursor.position + 1 } });
      const verdict = checkContiguity(cursor, events);
      if (!verdict.ok) throw new LedgerError(verdict.code, verdict.reason, { details: { position: verdict.position } });
      await scratch.apply(events, skips);
      cursor = advanceCursor(cursor, events);
      options.onProgress?.(cursor.position, target);
    }
  };
  const db = await pool.connect();
  try {
    await replayTo(active.position);
    await db.query("BEGIN");
    // Holds the live build still: its next batch waits on this row until we are done.
    const { rows } = await db.query<{ position: number; commitment: Buffer }>(
      "SELECT position, commitment FROM annal.projection_builds WHERE projection = $1 AND build = $2 FOR SHARE",
      [name, active.build],
    );
    const live = rows[0]!;
    await replayTo(live.position);
    const fail = (reason: string, extra: { table?: string; row?: unknown } = {}): ProjectionVerdict => ({ ok: false, projection: name, build: active.build, position: live.position, reason, ...extra });
    await db.query("SET LOCAL TimeZone TO 'UTC'; SET LOCAL extra_float_digits TO 1; SET LOCAL bytea_output TO 'hex'; SET LOCAL IntervalStyle TO 'postgres'");
    const recomputed = await recomputeCommitment(db, active.schema, expand);
    const tables = await readModelTables(db, active.schema);
    const scratchTables = await readModelTables(db, scratch.schema);
    if (tables.join() !== scratchTables.join()) return fail(`the build has tables ${tables.join(", ")} but the SQL creates ${scratchTables.join(", ")}`);
    let rowCount = 0;
    for (const table of tables) {
      const liveRows = `SELECT to_jsonb(t) AS row FROM ${ident(active.schema)}.${ident(table)} t`;
      const replayRows = `SELECT to_jsonb(t) AS row FROM ${ident(scratch.schema)}.${ident(table)} t`;
      const extra = await db.query<{ row: unknown }>(`(${liveRows} EXCEPT ALL ${replayRows}) LIMIT 1`);
      if (extra.rows[0] !== undefined) return fail(`table ${table} has a row the log does not produce`, { table, row: extra.rows[0].row });
      const missing = await db.query<{ row: unknown }>(`(${replayRows} EXCEPT ALL ${liveRows}) LIMIT 1`);
      if (missing.rows[0] !== undefined) return fail(`table ${table} lacks a row the log produces`, { table, row: missing.rows[0].row });
      rowCount += Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(active.schema)}.${ident(table)}`)).rows[0]!.n);
    }
    if (!equalBytes(recomputed.bytes(), new Uint8Array(live.commitment))) {
      return fail(`the stored commitment ${commitmentLabel(new Uint8Array(live.commitment))} is not the commitment of the rows (${commitmentLabel(recomputed.bytes())})`);
    }
    if (!equalBytes(scratch.commitment().bytes(), recomputed.bytes())) {
      return fail(`the replay's commitment ${commitmentLabel(scratch.commitment().bytes())} differs from the build's ${commitmentLabel(recomputed.bytes())}`);
    }
    return { ok: true, projection: name, build: active.build, position: live.position, commitment: commitmentLabel(recomputed.bytes()), rows: rowCount };
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
    db.release();
    await scratch.drop();
  }
}
