import type { EventType } from "../../events/index.js";
import type { EventRecord } from "../core/index.js";

/** The read model's transaction, with `search_path` set to the build's schema: write unqualified table names. */
export interface ProjectionDb {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * A projection: a Postgres read model that follows the log. Declared in
 * `projections/<name>/projection.ts` (default export) beside its `schema.sql`.
 *
 * Handlers MUST be deterministic (same events, same rows: no clock, no randomness, no
 * reads outside the read model) and idempotent (an event applied twice leaves the rows as
 * applying it once did; guard on the event's position). Give exactly one of `apply`
 * (one event at a time) or `applyBatch` (a run of events, for throughput).
 *
 * @example
 * export default defineProjection({
 *   name: "order_totals",
 *   version: 1,
 *   events: [OrderPlaced],
 *   async apply(event, db) {
 *     await db.query("INSERT INTO orders (stream_id, total) VALUES ($1, $2) ON CONFLICT DO NOTHING", [event.streamId, event.data.total]);
 *   },
 * });
 */
export interface ProjectionDefinition {
  /** `[a-z][a-z0-9_]{0,40}`: schema `projection_<name>` for readers. */
  name: string;
  /** Raise it with every change to the handler or SQL: a new version builds beside the old and cuts over. */
  version: number;
  /**
   * The event types it consumes (from `events/`): only these reach the handler, and each
   * one's data is checked against its schema first (a mismatch stops the projection at
   * that event). Omit to receive every event unchecked.
   */
  events?: readonly EventType[];
  /**
   * `async` (default): applied after commit by the projection's log follower, in one
   * transaction with its cursor. `inline`: applied inside the append transaction itself
   * (the read model commits with the events), holding the chain-head lock meanwhile, so
   * it costs every append; the follower still runs behind it and takes over whenever the
   * inline path cannot apply (catching up, paused, a failing event).
   */
  mode?: "async" | "inline";
  /**
   * False when the handler never reads `data`: events then arrive without their payload
   * (read without the payload join), which makes catching up faster. Default true.
   */
  payloads?: boolean;
  apply?: (event: ProjectedEvent, db: ProjectionDb) => Promise<void>;
  applyBatch?: (events: readonly ProjectedEvent[], db: ProjectionDb) => Promise<void>;
}

/** An event as a projection sees it: the committed record (data absent if redacted). */
export type ProjectedEvent = EventRecord;

export const PROJECTION_NAME_PATTERN = /^[a-z][a-z0-9_]{0,40}$/;

export function defineProjection(definition: ProjectionDefinition): ProjectionDefinition {
  if (!PROJECTION_NAME_PATTERN.test(definition.name)) throw new RangeError(`projection name ${JSON.stringify(definition.name)} must match ${PROJECTION_NAME_PATTERN.source}`);
  if (!Number.isSafeInteger(definition.version) || definition.version < 1) throw new RangeError(`projection ${definition.name}: version must be a positive integer`);
  if ((definition.apply === undefined) === (definition.applyBatch === undefined)) throw new RangeError(`projection ${definition.name}: give exactly one of apply or applyBatch`);
  return Object.freeze({ ...definition });
}

/** A definition with what the projector needs besides: its SQL and the hash of its folder. */
export interface LoadedProjection {
  definition: ProjectionDefinition;
  /** The read-model SQL, run with search_path set to a new build's schema. */
  sql: string;
  /** SHA-256 (hex) over the folder's files: a changed handler or SQL changes it. */
  codeHash: string;
  /** Where it came from (for messages). */
  source: string;
}

/** Names of a projection's schemas. */
export function stableSchema(name: string): string {
  return `projection_${name}`;
}
export function buildSchema(name: string, build: number): string {
  return `projection_${name}__b${build}`;
}
