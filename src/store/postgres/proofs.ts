import type pg from "pg";
import { LedgerError, merkleHashers, type Sha256 } from "../../core/index.js";
import { generateConsistencyProof, generateInclusionProof, generateRoot, type NodeHasher, type SubtreeHashReader } from "../../core/merkle-proof.js";
import { nodeSha256 } from "../../ledger/batch-store.js";
import type { CheckpointView } from "../../ledger/types.js";

// Must match the ledger's STORED_LEVEL_STRIDE: annal.merkle_nodes holds levels 4, 8, 12...
const STRIDE = 4;

export interface PostgresProofs {
  /** RFC 9162 inclusion proof (audit path) for leaf `leafIndex` (= position - 1) in the tree of `treeSize`. */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  /**
   * The latest durable checkpoint (undefined: none yet) and, when leaf `leafIndex` is
   * inside it, the leaf's inclusion proof against it and the event's stored hash. One
   * round trip while the latest checkpoint is the one seen last, two when it has moved.
   */
  latestInclusionProof(leafIndex: number): Promise<LatestInclusion | undefined>;
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

/** The latest checkpoint's size and root, with the proof of a leaf inside it. */
export interface LatestInclusion {
  checkpoint: Pick<CheckpointView, "treeSize" | "rootHash">;
  /** Absent when the leaf is beyond the checkpoint. */
  proof?: { auditPath: Uint8Array[]; eventHash: Uint8Array };
}

/** Perfect subtrees of this level and above are kept in memory once read or computed (see createSubtreeCache). */
const CACHED_LEVEL = 8;

/**
 * Proofs from stored subtree hashes: a proof needs O(log n) perfect subtrees; each is
 * one stored node (levels 4k), at most 8 nodes of the stratum below, or at most 8
 * leaves. Generation runs twice: once to learn which subtrees it needs (the set does not
 * depend on their hashes), then over the rows fetched in one round trip (leaves, nodes,
 * the durable size and, for the latest checkpoint's proofs, that checkpoint, in one
 * prepared statement). Perfect subtrees of 256 leaves and more are immutable once
 * durable and few (about 1/128 of the events), so the ones read or computed are cached:
 * a proof at 10,000,000 events then reads about 30 rows and hashes them natively.
 */
export function createPostgresProofs(pool: pg.Pool, options: { cachedNodes?: number; hash?: Sha256 } = {}): PostgresProofs {
  const cache = createSubtreeCache(options.cachedNodes ?? 100_000);
  // Plain Uint8Array copies: node:crypto answers Buffers, often views of a shared 8 KiB
  // slab, which a cached hash would keep alive.
  const hashers = merkleHashers(options.hash ?? ((...parts) => new Uint8Array(nodeSha256(...parts))));
  // The leaf hashes of the last proofs' own events: the route checks each proof against
  // the event it read with it (eventHash), without a second round trip.
  const recentEvents = new Map<number, Uint8Array>();
  // The size of the latest checkpoint seen: the next proof against the latest is read
  // for it, together with the latest checkpoint, and is answered if that has not moved.
  let latestSeen = 0;

  async function treeSize(): Promise<number> {
    // The durable size: a proof must never cover an event a database crash could take back.
    const { rows } = await pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
    return rows[0]?.position ?? 0;
  }

  /**
   * The subtrees `generate` reads, fetched in one round trip (with the latest checkpoint
   * when `latest`), then `generate` over them. Generation reads the same ranges in the same
   * order whatever their hashes, so the second pass takes them by turn.
   */
  async function withStoredSubtrees<T>(
    size: number,
    generate: (read: SubtreeHashReader, node: NodeHasher) => T,
    options: { eventPosition?: number; latest?: boolean; beyondLog?: "fail" | "skip" } = {},
  ): Promise<{ value: T | undefined; latest: Pick<CheckpointView, "treeSize" | "rootHash"> | undefined; eventHash: Uint8Array | undefined }> {
    const wanted: number[] = []; // start, end, start, end, ...
    if (size > 0) {
      generate(
        (start, end) => {
          wanted.push(start, end);
          return PLACEHOLDER;
        },
        () => PLACEHOLDER,
      );
    }
    const read = await readSubtrees(pool, wanted, size, cache, hashers, options.eventPosition, options.latest ?? false);
    if (size > read.durable) {
      // "skip": a guessed size (latestInclusionProof) that the log does not reach; the caller reads again.
      if (options.beyondLog === "skip") return { value: undefined, latest: read.latest, eventHash: read.eventHash };
      throw new LedgerError("ERR_NOT_FOUND", `tree size ${size} is beyond the log (size ${read.durable})`, { details: { treeSize: read.durable } });
    }
    if (options.eventPosition !== undefined && read.eventHash !== undefined) remember(recentEvents, options.eventPosition, read.eventHash);
    let turn = 0;
    const value =
      size > 0
        ? generate((start, end) => {
            const i = turn++;
            if (wanted[2 * i] !== start || wanted[2 * i + 1] !== end) throw new LedgerError("ERR_INTERNAL", `proof generation asked for [${start}, ${end}) out of turn`);
            const hash = read.hashes[i];
            if (!hash) throw new LedgerError("ERR_INTERNAL", `stored subtree [${start}, ${end}) is missing`);
            return hash;
          }, hashers.node)
        : undefined;
    return { value, latest: read.latest, eventHash: read.eventHash };
  }

  return {
    treeSize,
    async inclusionProof(leafIndex, size) {
      assertIndex(leafIndex, size);
      return (await withStoredSubtrees(size, (read, node) => generateInclusionProof(leafIndex, size, read, node), { eventPosition: leafIndex + 1 })).value!;
    },
    async latestInclusionProof(leafIndex) {
      if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) throw new LedgerError("ERR_INVALID_INPUT", `leaf index ${leafIndex} is not a non-negative integer`);
      const position = leafIndex + 1;
      const proofAt = (size: number) => (read: SubtreeHashReader, node: NodeHasher) => (size > 0 ? generateInclusionProof(leafIndex, size, read, node) : []);
      // Read for the latest size seen (0: none yet, or the leaf is beyond it, so only the
      // checkpoint is read), with the latest checkpoint itself.
      const guess = leafIndex < latestSeen ? latestSeen : 0;
      const first = await withStoredSubtrees(guess, proofAt(guess), { eventPosition: position, latest: true, beyondLog: "skip" });
      const checkpoint = first.latest;
      if (checkpoint === undefined) return undefined;
      latestSeen = checkpoint.treeSize; // as read now, even if smaller (a log restored from a backup)
      if (leafIndex >= checkpoint.treeSize) return { checkpoint };
      // The latest has moved since: read again for it. It is answered even if a newer one
      // landed meanwhile: it was the latest when read.
      const read = checkpoint.treeSize === guess ? first : await withStoredSubtrees(checkpoint.treeSize, proofAt(checkpoint.treeSize), { eventPosition: position });
      if (read.eventHash === undefined) throw new LedgerError("ERR_INTERNAL", `the event at ${position} is missing below the checkpoint of size ${checkpoint.treeSize}`);
      if (read.value === undefined) throw new LedgerError("ERR_INTERNAL", `no proof of ${position} in the checkpoint of size ${checkpoint.treeSize}`);
      return { checkpoint, proof: { auditPath: read.value, eventHash: read.eventHash } };
    },
    async consistencyProof(size1, size2) {
      if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
        throw new LedgerError("ERR_INVALID_INPUT", `consistency needs 1 <= from <= to, got from=${size1} to=${size2}`);
      }
      return (await withStoredSubtrees(size2, (read, node) => generateConsistencyProof(size1, size2, read, node))).value!;
    },
    async rootAt(size) {
      if (!Number.isSafeInteger(size) || size < 1) throw new LedgerError("ERR_INVALID_INPUT", `a root needs a tree size >= 1, got ${size}`);
      return (await withStoredSubtrees(size, (read, node) => generateRoot(size, read, node))).value!;
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

/** A placeholder hash for generation's first pass, which only learns the ranges it needs. */
const PLACEHOLDER = new Uint8Array(32);

interface SubtreeCache {
  get(level: number, index: number): Uint8Array | undefined;
  set(level: number, index: number, hash: Uint8Array): void;
}

/**
 * Perfect subtrees of level >= CACHED_LEVEL by (level, index), at most `max` (oldest
 * dropped first): stored nodes as read, and the subtrees between stored levels as
 * computed from them. Only durable ones are put here; those never change, so an entry
 * never goes stale. The key is one number: index * 64 + level (index < 2^45 at level >= 8
 * for any safe tree size, so it stays a safe integer).
 */
function createSubtreeCache(max: number): SubtreeCache {
  const nodes = new Map<number, Uint8Array>();
  return {
    get: (level, index) => (level >= CACHED_LEVEL ? nodes.get(index * 64 + level) : undefined),
    set(level, index, hash) {
      if (level < CACHED_LEVEL || max <= 0) return;
      if (nodes.size >= max) nodes.delete(nodes.keys().next().value!);
      nodes.set(index * 64 + level, hash);
    },
  };
}

function remember(recent: Map<number, Uint8Array>, position: number, hash: Uint8Array): void {
  if (recent.size >= 256) recent.delete(recent.keys().next().value!);
  recent.set(position, hash);
}

// One round trip: the latest durable checkpoint when $4 (level -2), the durable size
// (level -1), leaves (level 0, by position) and stored nodes.
const READ_SUBTREES = `
  SELECT -2 AS level, c.tree_size AS index, c.root_hash AS hash FROM (
    SELECT tree_size, root_hash FROM annal.checkpoints
     WHERE $4::boolean AND tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1)
     ORDER BY tree_size DESC LIMIT 1) c
  UNION ALL
  SELECT -1, position, NULL::bytea FROM annal.durable_head WHERE id = 1
  UNION ALL
  SELECT 0, position, hash FROM annal.events WHERE position = ANY($1::bigint[])
  UNION ALL
  SELECT n.level, n.index, n.hash FROM annal.merkle_nodes n
    JOIN unnest($2::smallint[], $3::bigint[]) AS k(level, index) ON n.level = k.level AND n.index = k.index`;

interface SubtreeRead {
  /** The hash of each wanted range, in the order asked for (undefined: missing from the store). */
  hashes: Array<Uint8Array | undefined>;
  durable: number;
  latest: Pick<CheckpointView, "treeSize" | "rootHash"> | undefined;
  eventHash: Uint8Array | undefined;
}

/** A stored node's key: its level is a multiple of 4 below 64, and index * 16 stays a safe integer for any safe tree size. */
const nodeKey = (level: number, index: number) => index * 16 + level / 4;

/** A PostgreSQL array literal of integers (one text parameter, without pg's per-element escaping). */
const intArray = (values: Iterable<number>) => `{${[...values].join(",")}}`;

/**
 * Reads the hashes of perfect aligned subtrees [start, end) (`wanted`: start, end pairs)
 * from the cache, leaves and stored nodes, and the durable size (and the latest durable
 * checkpoint when `latest`).
 */
async function readSubtrees(
  pool: pg.Pool,
  wanted: readonly number[],
  size: number,
  cache: SubtreeCache,
  hashers: ReturnType<typeof merkleHashers>,
  eventPosition: number | undefined,
  latest: boolean,
): Promise<SubtreeRead> {
  const count = wanted.length / 2;
  const hashes: SubtreeRead["hashes"] = new Array<Uint8Array | undefined>(count);
  // Each range not in the cache becomes 2^(level - base) children at the stored stratum
  // `base` at or below its level (base 0: leaves).
  const plans: Array<{ turn: number; level: number; index: number; base: number; first: number; width: number }> = [];
  const leafPositions = new Set<number>();
  if (eventPosition !== undefined) leafPositions.add(eventPosition);
  const nodes = new Map<number, Uint8Array>();
  const wantedNodes = new Map<number, { level: number; index: number }>();
  for (let turn = 0; turn < count; turn++) {
    const start = wanted[2 * turn]!;
    const width = wanted[2 * turn + 1]! - start;
    const level = Math.round(Math.log2(width));
    const index = start / width;
    const cached = cache.get(level, index);
    if (cached) {
      hashes[turn] = cached;
      continue;
    }
    const base = level - (level % STRIDE);
    const first = start / 2 ** base;
    const children = 2 ** (level - base);
    plans.push({ turn, level, index, base, first, width: children });
    for (let child = first; child < first + children; child++) {
      if (base === 0) {
        leafPositions.add(child + 1);
        continue;
      }
      const key = nodeKey(base, child);
      const node = cache.get(base, child);
      if (node) nodes.set(key, node);
      else wantedNodes.set(key, { level: base, index: child });
    }
  }
  const list = [...wantedNodes.values()];
  const { rows } = await pool.query<{ level: number; index: string | number; hash: Buffer | null }>({
    name: "annal_read_subtrees",
    text: READ_SUBTREES,
    values: [intArray(leafPositions), intArray(list.map((k) => k.level)), intArray(list.map((k) => k.index)), latest],
  });
  let durable = 0;
  let latestCheckpoint: SubtreeRead["latest"];
  let eventHash: Uint8Array | undefined;
  const leaves = new Map<number, Uint8Array>();
  for (const r of rows) {
    const index = Number(r.index);
    if (r.level === -1) durable = index;
    else if (r.level === -2) latestCheckpoint = { treeSize: index, rootHash: r.hash!.toString("base64") };
    else if (r.level === 0) {
      const hash = new Uint8Array(r.hash!);
      leaves.set(index - 1, hashers.leaf(hash));
      if (index === eventPosition) eventHash = hash;
    } else nodes.set(nodeKey(r.level, index), new Uint8Array(r.hash!));
  }
  // Only subtrees inside the durable log are cached: a node of a batch a crash could take
  // back might be written again with another hash.
  const durableOnly = size <= durable;
  if (durableOnly) for (const { level, index } of list) {
    const hash = nodes.get(nodeKey(level, index));
    if (hash) cache.set(level, index, hash);
  }
  for (const p of plans) {
    const layer: Uint8Array[] = [];
    for (let child = p.first; child < p.first + p.width; child++) {
      const hash = p.base === 0 ? leaves.get(child) : nodes.get(nodeKey(p.base, child));
      if (hash === undefined) break; // reported by the caller as missing
      layer.push(hash);
    }
    if (layer.length < p.width) continue;
    for (let n = layer.length; n > 1; n /= 2) {
      for (let i = 0; i < n; i += 2) layer[i / 2] = hashers.node(layer[i]!, layer[i + 1]!);
    }
    hashes[p.turn] = layer[0]!;
    if (durableOnly) cache.set(p.level, p.index, layer[0]!);
  }
  return { hashes, durable, latest: latestCheckpoint, eventHash };
}
