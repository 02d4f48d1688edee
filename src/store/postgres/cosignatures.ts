import type pg from "pg";

export interface CosignatureStore {
  /** Stores a verified cosignature line; a second one by the same witness for the same size is ignored. */
  save(treeSize: number, witness: string, line: string, cosignedAt: number): Promise<void>;
  /** Cosignature lines for a checkpoint, in witness-name order. */
  linesFor(treeSize: number): Promise<string[]>;
}

export function createPostgresCosignatures(pool: pg.Pool): CosignatureStore {
  return {
    async save(treeSize, witness, line, cosignedAt) {
      await pool.query("INSERT INTO annal.cosignatures (tree_size, witness, line, cosigned_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [treeSize, witness, line, cosignedAt]);
    },
    async linesFor(treeSize) {
      const { rows } = await pool.query<{ line: string }>("SELECT line FROM annal.cosignatures WHERE tree_size = $1 ORDER BY witness", [treeSize]);
      return rows.map((r) => r.line);
    },
  };
}
