import type pg from "pg";
import { LedgerError, leafHash, nodeHash } from "../../core/index.js";
import { generateConsistencyProof, generateInclusionProof, generateRoot, type SubtreeHashReader } from "../../core/merkle-proof.js";
import type { CheckpointView } from "../../ledger/types.js";

// Must match the ledger's STORED_LEVEL_STRIDE: annal.merkle_nodes holds levels 4, 8, 12...
const STRIDE = 4;

type Range = readonly [start: number, end: number];

export interface PostgresProofs {
  /** RFC 9162 inclusion proof (audit path) for leaf `leafIndex` (= position - 1) in the tree of `treeSize`. */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  /** RFC 9162 consistency proof between two tree sizes. */
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  checkpointAt(treeSize: number): Promise<CheckpointView | undefined>;
  /** The Merkle root of the log's first `treeSize` events (any size up to the durable one, checkpointed or not). */
  rootAt(treeSize: number): Promise<Uint8Array>;
  /** Up to `limit` durable checkpoints with tree size >= `fromTreeSize`, ascending. */
  listCheckpoints(fromTreeSize: number, limit: number): Promise<CheckpointView[]>;
  /** The stored hash of the event at `position`. */
  eventHash(position: number): Promise<Uint8Array | undefined>;
  /** The log's durable size. */
  treeSize(): Promise<number>;
}

/**
 * Proofs from stored subtree hashes: a proof needs O(log n) perfect subtrees; each is
 * one stored node (levels 4k), at most 8 nodes of the stratum below, or at most 8
 * leaves. Generation runs twice: once to learn which subtrees it needs (the set does not
 * depend on their hashes), then over the rows fetched in two queries.
 */
export function createPostgresProofs(pool: pg.Pool): PostgresProofs {
  async function treeSize(): Promise<number> {
    // The durable size: a proof must never cover an event a database crash could take back.
    const { rows } = await pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
    return rows[0]?.position ?? 0;
  }

  async function withStoredSubtrees<T>(size: number, generate: (read: SubtreeHashReader) => T): Promise<T> {
    const current = await treeSize();
    if (size > current) throw new LedgerError("ERR_NOT_FOUND", `tree size ${size} is beyond the log (size ${current})`, { details: { treeSize: current } });
    const wanted: Range[] = [];
    generate((start, end) => {
      wanted.push([start, end]);
      return new Uint8Array(32);
    });
    const hashes = await readSubtrees(pool, wanted);
    return generate((start, end) => {
      const hash = hashes.get(`${start}:${end}`);
      if (!hash) throw new LedgerError("ERR_INTERNAL", `stored subtree [${start}, ${end}) is missing`);
      return hash;
    });
  }

  return {
    treeSize,
    async inclusionProof(leafIndex, size) {
      assertIndex(leafIndex, size);
      return withStoredSubtrees(size, (read) => generateInclusionProof(leafIndex, size, read));
    },
    async consistencyProof(size1, size2) {
      if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
        throw new LedgerError("ERR_INVALID_INPUT", `consistency needs 1 <= from <= to, got from=${size1} to=${size2}`);
      }
      return withStoredSubtrees(size2, (read) => generateConsistencyProof(size1, size2, read));
    },
    async rootAt(size) {
      if (!Number.isSafeInteger(size) || size < 1) throw new LedgerError("ERR_INVALID_INPUT", `a root needs a tree size >= 1, got ${size}`);
      return withStoredSubtrees(size, (read) => generateRoot(size, read));
    },
    async checkpointAt(size) {
      const { rows } = await pool.query<{ tree_size: number; root_hash: Buffer; note: string }>(
        "SELECT tree_size, root_hash, note FROM annal.checkpoints WHERE tree_size = $1 AND tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1)",
        [size],
      );
      const row = rows[0];
      return row && { treeSize: row.tree_size, rootHash: row.root_hash.toString("base64"), note: row.note };
    },
    async eventHash(position) {
      const { rows } = await pool.query<{ hash: Buffer }>("SELECT hash FROM annal.events WHERE position = $1", [position]);
      return rows[0] && new Uint8Array(rows[0].hash);
    },
    async listCheckpoints(fromTreeSize, limit) {
      const { rows } = await pool.query<{ tree_size: number; root_hash: Buffer; note: string }>(
        `SELECT tree_size, root_hash, note FROM annal.checkpoints
         WHERE tree_size >= $1 AND tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1)
         ORDER BY tree_size LIMIT $2`,
        [fromTreeSize, limit],
      );
      return rows.map((row) => ({ treeSize: row.tree_size, rootHash: row.root_hash.toString("base64"), note: row.note }));
    },
  };
}

function assertIndex(leafIndex: number, size: number): void {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(size) || leafIndex < 0 || leafIndex >= size) {
    throw new LedgerError("ERR_INVALID_INPUT", `leaf index ${leafIndex} is not inside a tree of size ${size}`);
  }
}

/** Reads the hashes of perfect aligned subtrees [start, end) from leaves and stored nodes. */
async function readSubtrees(pool: pg.Pool, ranges: readonly Range[]): Promise<Map<string, Uint8Array>> {
  // Each range becomes `count` children at the stored stratum at or below its level.
  const plans = ranges.map(([start, end]) => {
    const level = Math.round(Math.log2(end - start));
    const base = level - (level % STRIDE);
    const width = 2 ** base;
    const count = 2 ** (level - base);
    const first = start / width;
    return { key: `${start}:${end}`, base, children: Array.from({ length: count }, (_, i) => first + i) };
  });
  const leafPositions = new Set<number>();
  const nodeKeys = new Map<string, { level: number; index: number }>();
  for (const p of plans) {
    for (const index of p.children) {
      if (p.base === 0) leafPositions.add(index + 1);
      else nodeKeys.set(`${p.base}/${index}`, { level: p.base, index });
    }
  }
  const leaves = new Map<number, Uint8Array>();
  if (leafPositions.size > 0) {
    const { rows } = await pool.query<{ position: number; hash: Buffer }>("SELECT position, hash FROM annal.events WHERE position = ANY($1::bigint[])", [[...leafPositions]]);
    for (const r of rows) leaves.set(r.position - 1, leafHash(new Uint8Array(r.hash)));
  }
  const nodes = new Map<string, Uint8Array>();
  if (nodeKeys.size > 0) {
    const list = [...nodeKeys.values()];
    const { rows } = await pool.query<{ level: number; index: number; hash: Buffer }>(
      `SELECT n.level, n.index, n.hash FROM annal.merkle_nodes n
       JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, index) ON n.level = k.level AND n.index = k.index`,
      [list.map((k) => k.level), list.map((k) => k.index)],
    );
    for (const r of rows) nodes.set(`${r.level}/${r.index}`, new Uint8Array(r.hash));
  }
  const out = new Map<string, Uint8Array>();
  for (const p of plans) {
    let layer = p.children.map((index) => (p.base === 0 ? leaves.get(index) : nodes.get(`${p.base}/${index}`)));
    if (layer.some((h) => h === undefined)) continue; // reported by the caller as missing
    while (layer.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(nodeHash(layer[i]!, layer[i + 1]!));
      layer = next;
    }
    out.set(p.key, layer[0]!);
  }
  return out;
}
