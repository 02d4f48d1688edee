import { Ajv, type ValidateFunction } from "ajv";
import type pg from "pg";
import { LedgerError, type EventRecord, type LtHash } from "../core/index.js";
import { isRetriable } from "../follower/index.js";
import { absorbChanges, ident } from "./commitment.js";
import type { LoadedProjection, ProjectedEvent, ProjectionDb } from "./define.js";

/**
 * Session settings of every read-model transaction: rows are hashed from their jsonb
 * text, so everything that text depends on is pinned (time zone, float digits, bytea
 * and interval formats), in the projector and in `verify` alike.
 */
export function readModelSettings(schema: string): string {
  return [
    `SET LOCAL search_path TO ${ident(schema)}, public`,
    `SET LOCAL annal.projection_writer TO '${schema.replace(/'/g, "''")}'`,
    "SET LOCAL TimeZone TO 'UTC'",
    "SET LOCAL extra_float_digits TO 1",
    "SET LOCAL bytea_output TO 'hex'",
    "SET LOCAL IntervalStyle TO 'postgres'",
  ].join("; ");
}

/** Which events reach a projection, and the schema check of their data. */
export interface EventFilter {
  accepts(event: EventRecord): boolean;
  /** Throws ERR_PROJECTION_FAILED naming the event when its data breaks its type's schema. */
  check(event: EventRecord): void;
}

export function createEventFilter(projection: LoadedProjection): EventFilter {
  const types = projection.definition.events;
  if (types === undefined) return { accepts: () => true, check: () => undefined };
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validators = new Map<string, ValidateFunction>(types.map((t) => [t.type, ajv.compile(t.schema)]));
  return {
    accepts: (event) => validators.has(event.type),
    check(event) {
      // A redacted event (or one read without payloads) has no data to check; the handler sees it without data.
      if (event.dataSalt === undefined) return;
      const validate = validators.get(event.type)!;
      if (!validate(event.data)) {
        const first = validate.errors?.[0];
        throw new LedgerError("ERR_PROJECTION_FAILED", `projection ${projection.definition.name}: the data of the ${event.type} event at position ${event.position} does not match its schema (${first?.instancePath || "/"} ${first?.message ?? ""})`, {
          details: { position: event.position, projection: projection.definition.name },
        });
      }
    },
  };
}

/**
 * Applies `events` to the build in `schema` within `tx` (the follower's transaction) and
 * moves `commitment` by the rows they changed. Events in `skips` are not applied (an
 * operator's recorded decision). A handler error names the event it failed on.
 */
export async function applyToBuild(
  tx: pg.ClientBase,
  target: { schema: string; projection: LoadedProjection; filter: EventFilter },
  events: readonly EventRecord[],
  commitment: LtHash,
  skips: ReadonlySet<number> = new Set(),
): Promise<void> {
  const { schema, projection, filter } = target;
  const { definition } = projection;
  await tx.query(readModelSettings(schema));
  const db: ProjectionDb = { query: (text, values) => tx.query(text, values as unknown[]) as never };
  const chosen = events.filter((e) => filter.accepts(e) && !skips.has(e.position));
  for (const event of chosen) filter.check(event);
  if (chosen.length > 0) {
    if (definition.apply !== undefined) {
      for (const event of chosen) {
        try {
          await definition.apply(event, db);
        } catch (error) {
          throw handlerFailure(projection, event, error);
        }
      }
    } else {
      await applyBatchLocating(tx, definition.applyBatch!, chosen, db, projection);
    }
  }
  await absorbChanges(tx, schema, commitment);
}

/** A batch handler that throws is run again one event at a time, to name the event that fails. */
async function applyBatchLocating(
  tx: pg.ClientBase,
  applyBatch: (events: readonly ProjectedEvent[], db: ProjectionDb) => Promise<void>,
  events: readonly EventRecord[],
  db: ProjectionDb,
  projection: LoadedProjection,
): Promise<void> {
  await tx.query("SAVEPOINT annal_batch");
  try {
    await applyBatch(events, db);
    await tx.query("RELEASE SAVEPOINT annal_batch");
    return;
  } catch (error) {
    if (isRetriable(error)) throw error;
    await tx.query("ROLLBACK TO SAVEPOINT annal_batch");
    for (const event of events) {
      try {
        await applyBatch([event], db);
      } catch (single) {
        throw handlerFailure(projection, event, single);
      }
    }
    throw handlerFailure(projection, events[0]!, error);
  }
}

function handlerFailure(projection: LoadedProjection, event: EventRecord, error: unknown): unknown {
  if (isRetriable(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LedgerError("ERR_PROJECTION_FAILED", `projection ${projection.definition.name}: the handler failed on the ${event.type} event at position ${event.position}: ${message}`, {
    cause: error,
    details: { position: event.position, projection: projection.definition.name },
  });
}
