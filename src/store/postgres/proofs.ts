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

/** Stored nodes at this level and above are kept in memory once read (see createNodeCache). */
const CACHED_LEVEL = 8;

/**
 * Proofs from stored subtree hashes: a proof needs O(log n) perfect subtrees; each is
 * one stored node (levels 4k), at most 8 nodes of the stratum below, or at most 8
 * leaves. Generation runs twice: once to learn which subtrees it needs (the set does not
 * depend on their hashes), then over the rows fetched in one round trip (leaves, nodes
 * and the durable size in one prepared statement). Nodes of level 8 and up (256 leaves
 * and more) are immutable and few (1/256 of the events), so they are cached: a proof at
 * 10,000,000 events then reads about 30 rows instead of about 90.
 */
export function createPostgresProofs(pool: pg.Pool, options: { cachedNodes?: number } = {}): PostgresProofs {
  const cache = createNodeCache(options.cachedNodes ?? 100_000);
  // The leaf hashes of the last proofs' own events: the route checks each proof against
  // the event it read with it (eventHash), without a second round trip.
  const recentEvents = new Map<number, Uint8Array>();

  async function treeSize(): Promise<number> {
    // The durable size: a proof must never cover an event a database crash could take back.
    const { rows } = await pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
    return rows[0]?.position ?? 0;
  }

  async function withStoredSubtrees<T>(size: number, generate: (read: SubtreeHashReader) => T, eventPosition?: number): Promise<T> {
    const wanted: Range[] = [];
    generate((start, end) => {
      wanted.push([start, end]);
      return new Uint8Array(32);
    });
    const { hashes, durable, events } = await readSubtrees(pool, wanted, size, cache, eventPosition);
    if (size > durable) throw new LedgerError("ERR_NOT_FOUND", `tree size ${size} is beyond the log (size ${durable})`, { details: { treeSize: durable } });
    for (const [position, hash] of events) remember(recentEvents, position, hash);
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
      return withStoredSubtrees(size, (read) => generateInclusionProof(leafIndex, size, read), leafIndex + 1);
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
      const recent = recentEvents.get(position);
      if (recent) return recent;
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

interface NodeCache {
  get(level: number, index: number): Uint8Array | undefined;
  set(level: number, index: number, hash: Uint8Array): void;
}

/** Stored nodes of level >= CACHED_LEVEL, at most `max` (oldest dropped first). Rows are insert-only, so an entry never goes stale. */
function createNodeCache(max: number): NodeCache {
  const nodes = new Map<string, Uint8Array>();
  return {
    get: (level, index) => (level >= CACHED_LEVEL ? nodes.get(`${level}/${index}`) : undefined),
    set(level, index, hash) {
      if (level < CACHED_LEVEL || max <= 0) return;
      if (nodes.size >= max) nodes.delete(nodes.keys().next().value!);
      nodes.set(`${level}/${index}`, hash);
    },
  };
}

function remember(recent: Map<number, Uint8Array>, position: number, hash: Uint8Array): void {
  if (recent.size >= 256) recent.delete(recent.keys().next().value!);
  recent.set(position, hash);
}

// One round trip: the durable size (level -1), leaves (level 0, by position) and stored nodes.
const READ_SUBTREES = `
  SELECT -1 AS level, position AS index, NULL::bytea AS hash FROM annal.durable_head WHERE id = 1
  UNION ALL
  SELECT 0, position, hash FROM annal.events WHERE position = ANY($1::bigint[])
  UNION ALL
  SELECT n.level, n.index, n.hash FROM annal.merkle_nodes n
    JOIN unnest($2::smallint[], $3::bigint[]) AS k(level, index) ON n.level = k.level AND n.index = k.index`;

/** Reads the hashes of perfect aligned subtrees [start, end) from leaves and stored nodes, and the durable size. */
async function readSubtrees(
  pool: pg.Pool,
  ranges: readonly Range[],
  size: number,
  cache: NodeCache,
  eventPosition?: number,
): Promise<{ hashes: Map<string, Uint8Array>; durable: number; events: Array<[number, Uint8Array]> }> {
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
  if (eventPosition !== undefined) leafPositions.add(eventPosition);
  const nodes = new Map<string, Uint8Array>();
  const nodeKeys = new Map<string, { level: number; index: number }>();
  for (const p of plans) {
    for (const index of p.children) {
      if (p.base === 0) {
        leafPositions.add(index + 1);
        continue;
      }
      const cached = cache.get(p.base, index);
      if (cached) nodes.set(`${p.base}/${index}`, cached);
      else nodeKeys.set(`${p.base}/${index}`, { level: p.base, index });
    }
  }
  const list = [...nodeKeys.values()];
  const { rows } = await pool.query<{ level: number; index: string | number; hash: Buffer | null }>({
    name: "annal_read_subtrees",
    text: READ_SUBTREES,
    values: [[...leafPositions], list.map((k) => k.level), list.map((k) => k.index)],
  });
  let durable = 0;
  const leaves = new Map<number, Uint8Array>();
  const events: Array<[number, Uint8Array]> = [];
  for (const r of rows) {
    const index = Number(r.index);
    if (r.level === -1) durable = index;
    else if (r.level === 0) {
      const hash = new Uint8Array(r.hash!);
      leaves.set(index - 1, leafHash(hash));
      if (index === eventPosition) events.push([index, hash]);
    } else {
      const hash = new Uint8Array(r.hash!);
      nodes.set(`${r.level}/${index}`, hash);
    }
  }
  // Only nodes inside the durable log are cached: a node of a batch a crash could take
  // back might be written again with another hash.
  if (size <= durable) for (const { level, index } of list) {
    const hash = nodes.get(`${level}/${index}`);
    if (hash) cache.set(level, index, hash);
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
  return { hashes: out, durable, events };
}
