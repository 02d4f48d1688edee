import { randomUUID } from "node:crypto";

import type { EventRecord, JsonObject, JsonValue, LtHashExpand } from "../core/index.js";
import { migrate } from "../store/postgres/migrate.js";
import { createPool } from "../store/postgres/pool.js";
import { createRowExpander } from "./commitment.js";
import type { LoadedProjection, ProjectionDb } from "./define.js";
import { loadProjection } from "./loader.js";
import { createScratchBuild, type ScratchBuild } from "./replay.js";

/** An event for a spec: what a writer appends. Positions, versions and times are filled in. */
export interface SpecEvent {
  streamId: string;
  type: string;
  data: JsonValue;
  metadata?: JsonObject;
}

export interface ProjectionSpec {
  /** Events already in the log before the one under test. */
  given(...events: SpecEvent[]): ProjectionSpec;
  /** The events under test. */
  when(...events: SpecEvent[]): ProjectionSpec;
  /**
   * Applies given, then when, to a fresh build of the projection in real PostgreSQL, and
   * hands your assertions the read model (search_path set to it). Before that it applies
   * the `when` events a second time and fails if that changed any row: handlers must be
   * idempotent.
   */
  then(assert: (db: ProjectionDb) => Promise<void>): Promise<void>;
  /** Expects the handler to refuse the `when` events (a poison event): the error it threw. */
  thenFails(): Promise<Error>;
  close(): Promise<void>;
}

/**
 * Given/When/Then for projection authors, against a real PostgreSQL database (migrated
 * on first use). Each `then` builds a fresh schema and drops it afterwards.
 *
 * @example
 * const spec = createProjectionSpec("projections/order_totals", { databaseUrl: process.env.DATABASE_URL! });
 * await spec.given({ streamId: "order-1", type: "OrderPlaced", data: { total: 5, currency: "EUR" } })
 *   .when({ streamId: "order-1", type: "OrderCancelled", data: {} })
 *   .then(async (db) => expect((await db.query("SELECT status FROM orders")).rows).toEqual([{ status: "cancelled" }]));
 */
export function createProjectionSpec(projection: LoadedProjection | string, options: { databaseUrl: string; role?: string }): ProjectionSpec {
  // Set up on first use, so the spec itself is not a promise (a thenable `then` would be
  // called by `await`).
  let setup: Promise<{ loaded: LoadedProjection; pool: ReturnType<typeof createPool>; expand: LtHashExpand }> | undefined;
  const ready = () =>
    (setup ??= (async () => {
      const loaded = typeof projection === "string" ? await loadProjection(projection) : projection;
      const admin = createPool({ connectionString: options.databaseUrl, max: 1, applicationName: "annal-spec" });
      try {
        await migrate(admin);
      } finally {
        await admin.end();
      }
      const pool = createPool({ connectionString: options.databaseUrl, role: options.role, max: 2, applicationName: "annal-spec" });
      return { loaded, pool, expand: await createRowExpander() };
    })());

  function scenario(given: SpecEvent[], when: SpecEvent[]): ProjectionSpec {
    const records = (): { given: EventRecord[]; when: EventRecord[] } => {
      const versions = new Map<string, number>();
      const all = [...given, ...when].map((e, i) => {
        const version = (versions.get(e.streamId) ?? 0) + 1;
        versions.set(e.streamId, version);
        return toRecord(e, i + 1, version);
      });
      return { given: all.slice(0, given.length), when: all.slice(given.length) };
    };
    async function run<T>(work: (build: ScratchBuild, events: { given: EventRecord[]; when: EventRecord[] }, context: { loaded: LoadedProjection; pool: ReturnType<typeof createPool> }) => Promise<T>): Promise<T> {
      const { loaded, pool, expand } = await ready();
      const build = await createScratchBuild(pool, loaded, expand, "spec");
      try {
        return await work(build, records(), { loaded, pool });
      } finally {
        await build.drop();
      }
    }
    return {
      given: (...events) => scenario([...given, ...events], when),
      when: (...events) => scenario(given, [...when, ...events]),
      then: (assert) =>
        run(async (build, events, { loaded, pool }) => {
          if (events.given.length > 0) await build.apply(events.given);
          await build.apply(events.when);
          const once = build.commitment().bytes();
          await build.apply(events.when);
          if (!equal(once, build.commitment().bytes())) {
            throw new Error(`projection ${loaded.definition.name} is not idempotent: applying the when-events a second time changed the read model`);
          }
          const client = await pool.connect();
          try {
            await client.query("BEGIN");
            await client.query(`SET LOCAL search_path TO "${build.schema}", public`);
            await assert({ query: (text, values) => client.query(text, values as unknown[]) as never });
          } finally {
            await client.query("ROLLBACK").catch(() => undefined);
            client.release();
          }
        }),
      thenFails: () =>
        run(async (build, events, { loaded }) => {
          if (events.given.length > 0) await build.apply(events.given);
          try {
            await build.apply(events.when);
          } catch (error) {
            return error as Error;
          }
          throw new Error(`projection ${loaded.definition.name} accepted the when-events; expected it to refuse them`);
        }),
      close: async () => {
        if (setup !== undefined) await (await setup).pool.end();
      },
    };
  }
  return scenario([], []);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const SPEC_TIME = Date.UTC(2026, 0, 1);
function toRecord(event: SpecEvent, position: number, streamVersion: number): EventRecord {
  const zero = Buffer.alloc(32).toString("base64");
  return {
    position,
    streamId: event.streamId,
    streamVersion,
    eventId: randomUUID(),
    type: event.type,
    // Deterministic times: one second apart from a fixed instant, so rows are reproducible.
    recordedAt: new Date(SPEC_TIME + position * 1000).toISOString(),
    metadata: event.metadata ?? {},
    data: event.data,
    dataSalt: zero,
    dataHash: zero,
    prevHash: zero,
    streamPrevHash: zero,
    keyId: "spec",
    hash: zero,
    signature: Buffer.alloc(64).toString("base64"),
  };
}

