import type pg from "pg";
import { inTransaction } from "../store/postgres/transaction.js";
import { lockCatalog, pointViews, readBuilds, type BuildRow } from "./catalog.js";

export interface CutOver {
  projection: string;
  from: number | null;
  to: number;
  position: number;
  commitment: Uint8Array;
}

/**
 * Makes `build` the active build if it has applied at least as much of the log as the
 * active one: in one transaction, both builds' rows locked (so neither moves meanwhile),
 * the stable views re-pointed, the old build retired (kept, for rollback). Readers see
 * the old build or the new one, never a mix, and no event is lost or applied twice:
 * each build applied the log exactly once through its own cursor.
 */
export async function tryCutOver(pool: pg.Pool, projection: string, build: number): Promise<CutOver | undefined> {
  return inTransaction(pool, async (tx) => {
    await lockCatalog(tx);
    const { rows } = await tx.query<{ build: number; state: string; position: number }>(
      "SELECT build, state, position FROM annal.projection_builds WHERE projection = $1 AND state IN ('active', 'building') ORDER BY build FOR UPDATE",
      [projection],
    );
    const candidate = rows.find((r) => r.build === build && r.state === "building");
    const active = rows.find((r) => r.state === "active");
    if (candidate === undefined || (active !== undefined && candidate.position < active.position)) return undefined;
    if (active !== undefined) await tx.query("UPDATE annal.projection_builds SET state = 'retired', retired_at = now() WHERE projection = $1 AND build = $2", [projection, active.build]);
    await tx.query("UPDATE annal.projection_builds SET state = 'active', activated_at = now() WHERE projection = $1 AND build = $2", [projection, build]);
    const row = (await readBuilds(tx, projection)).find((b: BuildRow) => b.build === build)!;
    await pointViews(tx, projection, row.schema);
    return { projection, from: active?.build ?? null, to: build, position: row.position, commitment: row.commitment };
  });
}
