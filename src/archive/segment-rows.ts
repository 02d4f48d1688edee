import type pg from "pg";
import { LedgerError } from "../core/index.js";
import { inTransaction } from "../store/postgres/transaction.js";

export type SegmentState = "planned" | "built" | "uploaded" | "verified" | "sealed" | "conflict";

/** One row of annal.archive_segments: where a segment stands in the sealing protocol. */
export interface SegmentRow {
  segment: number;
  from: number;
  to: number;
  objectName: string;
  state: SegmentState;
  checkpointNote: string;
  keysJson: string;
  previousManifestHash: string | null;
  bundleSha256: string | null;
  bundleBytes: number | null;
  manifestHash: string | null;
  versionId: string | null;
  retainUntil: Date | null;
  sealedEventPosition: number | null;
  error: string | null;
  sealedAt: Date | null;
}

const COLUMNS = `segment, from_position, to_position, object_name, state, checkpoint_note, keys_json, previous_manifest_hash, bundle_sha256,
  bundle_bytes, manifest_hash, version_id, retain_until, sealed_event_position, error, sealed_at`;

interface Row {
  segment: string;
  from_position: string;
  to_position: string;
  object_name: string;
  state: SegmentState;
  checkpoint_note: string;
  keys_json: string;
  previous_manifest_hash: string | null;
  bundle_sha256: string | null;
  bundle_bytes: string | null;
  manifest_hash: string | null;
  version_id: string | null;
  retain_until: Date | null;
  sealed_event_position: string | null;
  error: string | null;
  sealed_at: Date | null;
}

function fromRow(r: Row): SegmentRow {
  const n = (v: string | null) => (v === null ? null : Number(v));
  return {
    segment: Number(r.segment),
    from: Number(r.from_position),
    to: Number(r.to_position),
    objectName: r.object_name,
    state: r.state,
    checkpointNote: r.checkpoint_note,
    keysJson: r.keys_json,
    previousManifestHash: r.previous_manifest_hash,
    bundleSha256: r.bundle_sha256,
    bundleBytes: n(r.bundle_bytes),
    manifestHash: r.manifest_hash,
    versionId: r.version_id,
    retainUntil: r.retain_until,
    sealedEventPosition: n(r.sealed_event_position),
    error: r.error,
    sealedAt: r.sealed_at,
  };
}

type Db = Pick<pg.Pool, "query"> | pg.PoolClient;

export async function readSegments(db: Db, where = "TRUE", values: unknown[] = []): Promise<SegmentRow[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM annal.archive_segments WHERE ${where} ORDER BY segment`, values);
  return rows.map(fromRow);
}

export async function lastSegment(db: Db): Promise<SegmentRow | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM annal.archive_segments ORDER BY segment DESC LIMIT 1`);
  return rows[0] && fromRow(rows[0]);
}

/**
 * Runs `work` in a transaction that holds the sealer's follower row FOR SHARE at
 * `epoch`: a takeover (which bumps the epoch with an UPDATE) waits for it, and a stale
 * owner gets ERR_FENCED instead of writing.
 */
export async function fenced<T>(pool: pg.Pool, follower: string, epoch: number, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ epoch: string }>("SELECT epoch FROM annal.followers WHERE name = $1 FOR SHARE", [follower]);
    if (rows[0] === undefined || Number(rows[0].epoch) !== epoch) {
      throw new LedgerError("ERR_FENCED", `sealer ${follower}: epoch ${epoch} is no longer the owner's`);
    }
    return work(tx);
  });
}

/** Moves a segment from one state to the next, setting `fields`; throws if it was not in `from` (another writer moved it). */
export async function moveSegment(tx: pg.PoolClient, segment: number, from: SegmentState | readonly SegmentState[], to: SegmentState, fields: Record<string, unknown> = {}): Promise<void> {
  const names = Object.keys(fields);
  const sets = [`state = $3`, `updated_at = now()`, ...names.map((name, i) => `${name} = $${i + 4}`)];
  const states = Array.isArray(from) ? from : [from];
  const { rowCount } = await tx.query(`UPDATE annal.archive_segments SET ${sets.join(", ")} WHERE segment = $1 AND state = ANY($2::text[])`, [segment, states, to, ...names.map((n) => fields[n])]);
  if (rowCount !== 1) throw new LedgerError("ERR_FENCED", `segment ${segment} was not in state ${states.join("/")} any more`);
}
