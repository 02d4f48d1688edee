import { randomBytes } from "node:crypto";
import type pg from "pg";
import { createLtHash, type EventRecord, type LtHash, type LtHashExpand } from "../core/index.js";
import { applyToBuild, createEventFilter } from "./apply.js";
import { createBuildSchema } from "./catalog.js";
import { inTransaction } from "../store/postgres/transaction.js";
import { ident } from "./commitment.js";
import type { LoadedProjection } from "./define.js";

/**
 * A throw-away build of a projection, outside the catalogue: `projections verify`, the
 * spec helper and replays from Kafka apply events to it through the same code path as
 * the projector (same SQL, same handler, same commitment).
 */
export interface ScratchBuild {
  readonly schema: string;
  /** The commitment of the rows after the last committed apply. */
  commitment(): LtHash;
  /** Applies events in one transaction (skipping `skips`). */
  apply(events: readonly EventRecord[], skips?: ReadonlySet<number>): Promise<void>;
  drop(): Promise<void>;
}

export async function createScratchBuild(pool: pg.Pool, projection: LoadedProjection, expand: LtHashExpand, label = "scratch"): Promise<ScratchBuild> {
  const schema = `projection_${projection.definition.name}__${label}_${randomBytes(4).toString("hex")}`;
  const seeded = await inTransaction(pool, (tx) => createBuildSchema(tx, projection, schema, expand));
  let commitment = createLtHash(expand, seeded);
  const target = { schema, projection, filter: createEventFilter(projection) };
  return {
    schema,
    commitment: () => commitment,
    async apply(events, skips) {
      const next = createLtHash(expand, commitment.bytes());
      await inTransaction(pool, (tx) => applyToBuild(tx, target, events, next, skips));
      // Only a committed batch moves the scratch commitment.
      commitment = next;
    },
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    },
  };
}
