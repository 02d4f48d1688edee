import type pg from "pg";
import { LedgerError, type LtHashExpand } from "../core/index.js";
import { readModelSettings } from "./apply.js";
import { recomputeCommitment, ident, readModelTables } from "./commitment.js";
import { buildSchema, stableSchema, type LoadedProjection } from "./define.js";

type Db = Pick<pg.ClientBase, "query">;

export type BuildState = "building" | "active" | "retired";

export interface BuildRow {
  projection: string;
  build: number;
  version: number;
  codeHash: string;
  schema: string;
  state: BuildState;
  commitment: Uint8Array;
  position: number;
  createdAt: string;
  activatedAt: string | null;
}

interface Row {
  projection: string;
  build: number;
  version: number;
  code_hash: string;
  schema_name: string;
  state: BuildState;
  commitment: Buffer;
  position: number;
  created_at: Date;
  activated_at: Date | null;
}

const COLUMNS = "projection, build, version, code_hash, schema_name, state, commitment, position, created_at, activated_at";

function fromRow(r: Row): BuildRow {
  return {
    projection: r.projection,
    build: r.build,
    version: r.version,
    codeHash: r.code_hash,
    schema: r.schema_name,
    state: r.state,
    commitment: new Uint8Array(r.commitment),
    position: r.position,
    createdAt: r.created_at.toISOString(),
    activatedAt: r.activated_at?.toISOString() ?? null,
  };
}

export async function readBuilds(db: Db, projection?: string): Promise<BuildRow[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM annal.projection_builds WHERE $1::text IS NULL OR projection = $1 ORDER BY projection, build`, [projection ?? null]);
  return rows.map(fromRow);
}

export function followerName(projection: string, build: number): string {
  return `projection:${projection}#${build}`;
}

/** Serialises catalogue changes (start-up sync, rebuild, cut-over) across instances, for one transaction. */
export async function lockCatalog(tx: Db): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(('x' || left(md5('annal.projections'), 16))::bit(64)::bigint)");
}

/**
 * Creates build n+1 of a projection: its schema, the read-model SQL run inside it, the
 * capture triggers on every table, and the commitment of any rows the SQL seeded. An
 * `active` build also gets the stable views at once (the first build of a projection).
 */
export async function createBuild(tx: Db, projection: LoadedProjection, state: "building" | "active", expand: LtHashExpand): Promise<BuildRow> {
  const name = projection.definition.name;
  const { rows } = await tx.query<{ next: number }>("SELECT coalesce(max(build), 0) + 1 AS next FROM annal.projection_builds WHERE projection = $1", [name]);
  const build = rows[0]!.next;
  const schema = buildSchema(name, build);
  const commitment = await createBuildSchema(tx, projection, schema, expand);
  const inserted = await tx.query<Row>(
    `INSERT INTO annal.projection_builds (projection, build, version, code_hash, schema_name, state, commitment, activated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'active' THEN now() END) RETURNING ${COLUMNS}`,
    [name, build, projection.definition.version, projection.codeHash, schema, state, Buffer.from(commitment)],
  );
  if (state === "active") await pointViews(tx, name, schema);
  return fromRow(inserted.rows[0]!);
}

/** Re-points the stable schema's views at `schema`'s tables (one view per table, same name). */
export async function pointViews(tx: Db, projection: string, schema: string): Promise<void> {
  const stable = stableSchema(projection);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${ident(stable)}`);
  const { rows } = await tx.query<{ viewname: string }>("SELECT viewname FROM pg_views WHERE schemaname = $1", [stable]);
  // No CASCADE: a view of yours built on ours makes the cut-over fail loudly instead of vanishing.
  for (const { viewname } of rows) await tx.query(`DROP VIEW ${ident(stable)}.${ident(viewname)}`);
  for (const table of await readModelTables(tx, schema)) {
    await tx.query(`CREATE VIEW ${ident(stable)}.${ident(table)} AS SELECT * FROM ${ident(schema)}.${ident(table)}`);
  }
}

/**
 * A build's schema: created afresh, the read-model SQL run inside it, the capture
 * triggers on every table. Returns the commitment of any rows the SQL seeded.
 */
export async function createBuildSchema(tx: Db, projection: LoadedProjection, schema: string, expand: LtHashExpand): Promise<Uint8Array> {
  const name = projection.definition.name;
  await tx.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
  await tx.query(`CREATE SCHEMA ${ident(schema)}`);
  await tx.query(readModelSettings(schema));
  try {
    await tx.query(projection.sql);
  } catch (error) {
    throw new LedgerError("ERR_CONFIG", `projection ${name}: schema.sql failed: ${(error as Error).message}`, { cause: error });
  }
  const tables = await readModelTables(tx, schema);
  if (tables.length === 0) throw new LedgerError("ERR_CONFIG", `projection ${name}: schema.sql created no table`);
  for (const table of tables) {
    const qualified = `${ident(schema)}.${ident(table)}`;
    await tx.query(`CREATE TRIGGER annal_capture AFTER INSERT OR UPDATE OR DELETE ON ${qualified} FOR EACH ROW EXECUTE FUNCTION annal.capture_projection_change()`);
    await tx.query(`CREATE TRIGGER annal_no_truncate BEFORE TRUNCATE ON ${qualified} FOR EACH STATEMENT EXECUTE FUNCTION annal.refuse_projection_truncate()`);
  }
  return (await recomputeCommitment(tx, schema, expand)).bytes();
}

export interface SyncPlan {
  /** Builds created by this sync (each is a ProjectionRebuildStarted, and an active one a ProjectionCutOver). */
  created: BuildRow[];
}

/**
 * Start-up: makes the catalogue match the projections on disk. A projection without
 * builds gets build 1, active at once. A higher version gets a new build beside the
 * active one (cut over when it has caught up). A changed handler or SQL under the same
 * version, or a lower version, is refused: the read model would no longer be what its
 * version says.
 */
export async function syncCatalog(tx: Db, projections: readonly LoadedProjection[], expand: LtHashExpand): Promise<SyncPlan> {
  await lockCatalog(tx);
  const created: BuildRow[] = [];
  for (const projection of projections) {
    const { name, version } = projection.definition;
    const builds = (await readBuilds(tx, name)).filter((b) => b.state !== "retired");
    const active = builds.find((b) => b.state === "active");
    if (active === undefined) {
      created.push(await createBuild(tx, projection, "active", expand));
      continue;
    }
    for (const build of builds) {
      if (build.version === version && build.codeHash !== projection.codeHash) {
        throw new LedgerError(
          "ERR_PROJECTION_CHANGED",
          `projection ${name}: the handler or SQL changed but the version is still ${version} (build ${build.build} was made from code ${build.codeHash.slice(0, 12)}…, ${projection.source} is ${projection.codeHash.slice(0, 12)}…); raise the version to rebuild`,
          { details: { projection: name, version, build: build.build } },
        );
      }
    }
    if (active.version > version) {
      throw new LedgerError("ERR_PROJECTION_CHANGED", `projection ${name}: version ${version} on disk is older than the active build's version ${active.version}`, { details: { projection: name } });
    }
    // Builds of older code that never cut over are abandoned; their schemas stay for inspection.
    for (const stale of builds.filter((b) => b.state === "building" && b.version < version)) {
      await tx.query("UPDATE annal.projection_builds SET state = 'retired', retired_at = now() WHERE projection = $1 AND build = $2", [name, stale.build]);
    }
    const current = builds.some((b) => b.version === version);
    if (!current) created.push(await createBuild(tx, projection, "building", expand));
  }
  return { created };
}
