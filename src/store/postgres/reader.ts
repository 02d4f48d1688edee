import type pg from "pg";
import { formatVerifierKey, type EventRecord, type StoredCanonical } from "../../core/index.js";
import type { CheckpointView, LedgerReader, PublicKeyInfo } from "../../ledger/types.js";
import { DURABLE_POSITION, EVENT_COLUMNS, EVENTS_FROM, recordFromRow, verifiableFromRow, type EventRow } from "./rows.js";

export interface PostgresReaderOptions {
  /** Largest page a read may return. */
  maxLimit?: number;
}

/** Reads of the committed log from Postgres. Only committed rows are visible, so readers never see a gap. */
export function createPostgresReader(pool: pg.Pool, options: PostgresReaderOptions = {}): LedgerReader & {
  readRange(fromPosition: number, toPosition: number, options?: { durableOnly?: boolean }): Promise<EventRecord[]>;
  /** Up to `limit` stored rows after `position`, durable or not, for verification (see verifiableFromRow). */
  readAfter(position: number, limit: number): Promise<Array<{ record: EventRecord; stored: StoredCanonical }>>;
  checkpointsUpTo(treeSize: number): Promise<Array<CheckpointView & { keyId: string }>>;
} {
  const maxLimit = options.maxLimit ?? 1000;
  const clamp = (limit: number | undefined) => Math.max(1, Math.min(limit ?? 100, maxLimit));

  async function readRange(fromPosition: number, toPosition: number, { durableOnly = true } = {}): Promise<EventRecord[]> {
    // An auditor reading the database directly (durableOnly: false) sees every stored row.
    const upTo = durableOnly ? `least($2, ${DURABLE_POSITION})` : "$2";
    const { rows } = await pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.position BETWEEN $1 AND ${upTo} ORDER BY e.position`,
      [fromPosition, toPosition],
    );
    return rows.map(recordFromRow);
  }

  return {
    readRange,
    async readAfter(position, limit) {
      const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.position > $1 ORDER BY e.position LIMIT $2`, [position, limit]);
      return rows.map(verifiableFromRow);
    },
    async readStream(streamId, { fromVersion = 1, limit }) {
      const { rows } = await pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.stream_id = $1 AND e.stream_version >= $2 AND e.position <= ${DURABLE_POSITION} ORDER BY e.stream_version LIMIT $3`,
        [streamId, fromVersion, clamp(limit)],
      );
      return rows.map(recordFromRow);
    },
    async readAll({ fromPosition = 1, limit }) {
      return readRange(fromPosition, fromPosition + clamp(limit) - 1);
    },
    async readEvent(position) {
      const [record] = await readRange(position, position);
      return record;
    },
    async latestCheckpoint() {
      const { rows } = await pool.query<{ tree_size: number; root_hash: Buffer; note: string }>(
        `SELECT tree_size, root_hash, note FROM annal.checkpoints WHERE tree_size <= ${DURABLE_POSITION} ORDER BY tree_size DESC LIMIT 1`,
      );
      const row = rows[0];
      return row && { treeSize: row.tree_size, rootHash: row.root_hash.toString("base64"), note: row.note };
    },
    async checkpointsUpTo(treeSize) {
      const { rows } = await pool.query<{ tree_size: number; root_hash: Buffer; note: string; key_id: string }>(
        "SELECT tree_size, root_hash, note, key_id FROM annal.checkpoints WHERE tree_size <= $1 ORDER BY tree_size",
        [treeSize],
      );
      return rows.map((r) => ({ treeSize: r.tree_size, rootHash: r.root_hash.toString("base64"), note: r.note, keyId: r.key_id }));
    },
    async publicKeys(): Promise<PublicKeyInfo[]> {
      // In window order; keys registered but never in force (no window) last.
      const { rows } = await pool.query<{ key_id: string; public_key: Buffer; note_name: string; valid_from: Date; valid_to: Date | null; from_position: string | null; to_position: string | null }>(
        "SELECT key_id, public_key, note_name, valid_from, valid_to, from_position, to_position FROM annal.signing_keys ORDER BY from_position NULLS LAST, valid_from",
      );
      return rows.map((r) => ({
        keyId: r.key_id,
        algorithm: "Ed25519" as const,
        publicKey: r.public_key.toString("base64"),
        noteVerifierKey: formatVerifierKey(r.note_name, new Uint8Array(r.public_key)),
        validFrom: r.valid_from.toISOString(),
        ...(r.valid_to ? { validTo: r.valid_to.toISOString() } : {}),
        ...(r.from_position !== null ? { fromPosition: Number(r.from_position) } : {}),
        ...(r.to_position !== null ? { toPosition: Number(r.to_position) } : {}),
      }));
    },
  };
}
