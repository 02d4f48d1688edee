import { equalBytes } from "./bytes.js";
import { HASH_LENGTH, sha256, type Sha256 } from "./hash.js";
import { EMPTY_ROOT, merkleHashers, nodeHash } from "./merkle.js";

// RFC 9162 section 2.1.3 (inclusion) and 2.1.4 (consistency) proofs over the tree of
// merkle.ts. Indices and sizes are safe integers; halving uses Math.floor, not `>>`,
// which would wrap beyond 2^31 leaves.

/**
 * Answers the hash of the perfect subtree over leaves [start, end): `end - start` is a
 * power of two and `start` a multiple of it. A store can keep exactly these nodes (one
 * per level per aligned block, as tiles do) and so answer any proof with O(log n) reads;
 * generation never asks for anything else.
 */
export type SubtreeHashReader = (start: number, end: number) => Uint8Array;

export type ProofVerdict = { ok: true } | { ok: false; reason: string };

const OK: ProofVerdict = { ok: true };
const no = (reason: string): ProofVerdict => ({ ok: false, reason });

const half = (n: number): number => Math.floor(n / 2);
const isOdd = (n: number): boolean => n % 2 === 1;
const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** The largest power of two strictly below n (n > 1): RFC 9162's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) for a range the RFC recursion produces: its start is aligned to a
 * power of two at least its length, so it splits into perfect aligned subtrees of
 * strictly decreasing size, which fold right to left into the RFC's (unbalanced) node.
 */
function rangeHash(start: number, end: number, read: SubtreeHashReader, node: NodeHasher): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = start; at < end; ) {
    let size = 1;
    while (size * 2 <= end - at) size *= 2;
    parts.push(read(at, at + size));
    at += size;
  }
  let hash = parts.pop()!;
  while (parts.length > 0) hash = node(parts.pop()!, hash);
  return hash;
}

/** RFC 9162's interior node hash, SHA-256(0x01 || left || right): the core's by default; a store may pass a native one. */
export type NodeHasher = (left: Uint8Array, right: Uint8Array) => Uint8Array;

/** The RFC 9162 root of the first `treeSize` leaves, from their perfect subtrees (EMPTY_ROOT's rule aside: size >= 1). */
export function generateRoot(treeSize: number, read: SubtreeHashReader, node: NodeHasher = nodeHash): Uint8Array {
  assertSize("treeSize", treeSize);
  if (treeSize < 1) throw new RangeError("the root of an empty tree is EMPTY_ROOT");
  return rangeHash(0, treeSize, read, node);
}

function assertSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a safe non-negative integer, not ${value}`);
}

/**
 * RFC 9162 section 2.1.3.1 inclusion proof (PATH) for the leaf at `leafIndex` (0-based;
 * an event's leaf index is its position - 1) in the tree of `treeSize` leaves.
 *
 * @example
 *   const proof = generateInclusionProof(position - 1, checkpoint.treeSize, store.subtreeHash);
 */
export function generateInclusionProof(leafIndex: number, treeSize: number, read: SubtreeHashReader, node: NodeHasher = nodeHash): Uint8Array[] {
  assertSize("leafIndex", leafIndex);
  assertSize("treeSize", treeSize);
  if (leafIndex >= treeSize) throw new RangeError(`leaf index ${leafIndex} is outside a tree of size ${treeSize}`);
  // Walk down from the root; siblings are collected top-down and returned bottom-up.
  const path: Uint8Array[] = [];
  let start = 0;
  let end = treeSize;
  let m = leafIndex;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      path.push(rangeHash(start + k, end, read, node));
      end = start + k;
    } else {
      path.push(rangeHash(start, start + k, read, node));
      start += k;
      m -= k;
    }
  }
  return path.reverse();
}

/**
 * RFC 9162 section 2.1.4.1 consistency proof (PROOF) from `size1` to `size2`. Empty when
 * the sizes are equal or `size1` is 0 (every tree extends the empty one).
 */
export function generateConsistencyProof(size1: number, size2: number, read: SubtreeHashReader, node: NodeHasher = nodeHash): Uint8Array[] {
  assertSize("size1", size1);
  assertSize("size2", size2);
  if (size1 > size2) throw new RangeError(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const proof: Uint8Array[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  // `complete`: the subtree being descended is still a prefix the old tree fully knows
  // (RFC's b = true), so its own hash is not part of the proof.
  let complete = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      proof.push(rangeHash(start + k, end, read, node));
      end = start + k;
    } else {
      proof.push(rangeHash(start, start + k, read, node));
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(rangeHash(start, end, read, node));
  return proof.reverse();
}

/** A subtree reader over leaf hashes held in memory: O(n) to build, O(1) per read. */
export function createSubtreeHashReader(leaves: readonly Uint8Array[]): SubtreeHashReader {
  const levels: Uint8Array[][] = [leaves.slice()];
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    levels.push(next);
    level = next;
  }
  return (start, end) => {
    const size = end - start;
    const height = Math.round(Math.log2(size));
    const node = isPowerOfTwo(size) && start % size === 0 ? levels[height]?.[start / size] : undefined;
    if (!node) throw new RangeError(`[${start}, ${end}) is not a perfect subtree of ${leaves.length} leaves`);
    return node;
  };
}

/** Inclusion proof from leaf hashes in memory (tests, small exports). */
export function inclusionProofOf(leaves: readonly Uint8Array[], leafIndex: number, treeSize = leaves.length): Uint8Array[] {
  if (treeSize > leaves.length) throw new RangeError(`tree size ${treeSize} exceeds the ${leaves.length} leaves given`);
  return generateInclusionProof(leafIndex, treeSize, createSubtreeHashReader(leaves));
}

/** Consistency proof from leaf hashes in memory (tests, small exports). */
export function consistencyProofOf(leaves: readonly Uint8Array[], size1: number, size2 = leaves.length): Uint8Array[] {
  if (size2 > leaves.length) throw new RangeError(`tree size ${size2} exceeds the ${leaves.length} leaves given`);
  return generateConsistencyProof(size1, size2, createSubtreeHashReader(leaves));
}

function badHash(hashes: readonly Uint8Array[]): boolean {
  return hashes.some((h) => !(h instanceof Uint8Array) || h.length !== HASH_LENGTH);
}

/**
 * RFC 9162 section 2.1.3.2: does `proof` show that `leafHash` (SHA-256(0x00 || event
 * hash)) is leaf `leafIndex` of the tree of `treeSize` leaves with root `root`?
 *
 * A proof binds the size only through its shape; trust `root` and `treeSize` only as a
 * pair from a verified checkpoint. `hash`: another SHA-256 implementation (same bytes),
 * e.g. node:crypto on a server that checks every proof it serves.
 */
export function verifyInclusionProof(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array, hash: Sha256 = sha256): ProofVerdict {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || !Number.isSafeInteger(treeSize) || treeSize < 0) return no("leaf index and tree size must be safe non-negative integers");
  if (leafIndex >= treeSize) return no(`leaf index ${leafIndex} is outside a tree of size ${treeSize}`);
  if (badHash([leafHash, root, ...proof])) return no(`every hash must be ${HASH_LENGTH} bytes`);
  const node = hash === sha256 ? nodeHash : merkleHashers(hash).node;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return no("proof is longer than the tree is deep");
    if (isOdd(fn) || fn === sn) {
      r = node(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return no("proof is shorter than the tree is deep");
  return equalBytes(r, root) ? OK : no("proof does not lead to the root");
}

/**
 * RFC 9162 section 2.1.4.2: is the tree (size2, root2) an append-only extension of
 * (size1, root1)? Equal sizes need an empty proof and equal roots; size1 = 0 needs an
 * empty proof and root1 = SHA-256() (stricter than RFC 9162, which leaves 0 undefined).
 */
export function verifyConsistencyProof(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): ProofVerdict {
  if (!Number.isSafeInteger(size1) || size1 < 0 || !Number.isSafeInteger(size2) || size2 < 0) return no("tree sizes must be safe non-negative integers");
  if (size1 > size2) return no(`size1 ${size1} is larger than size2 ${size2}`);
  if (badHash([root1, root2, ...proof])) return no(`every hash must be ${HASH_LENGTH} bytes`);
  if (size1 === size2) {
    if (proof.length !== 0) return no("equal sizes need an empty proof");
    return equalBytes(root1, root2) ? OK : no("equal sizes with different roots");
  }
  if (size1 === 0) {
    if (proof.length !== 0) return no("size 0 needs an empty proof");
    return equalBytes(root1, EMPTY_ROOT) ? OK : no("root1 is not the empty tree's root");
  }
  if (proof.length === 0) return no("proof is empty");
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return no("proof is longer than the trees need");
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return no("proof is shorter than the trees need");
  if (!equalBytes(fr, root1)) return no("proof does not lead to root1");
  return equalBytes(sr, root2) ? OK : no("proof does not lead to root2");
}
