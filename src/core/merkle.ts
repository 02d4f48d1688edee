import { sha256, type Sha256 } from "./hash.js";

// RFC 9162 section 2.1.1: MTH({}) = SHA-256(), leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r).
const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

export const EMPTY_ROOT = sha256(new Uint8Array(0));

/** Leaf hash of an event: SHA-256(0x00 || event hash). */
export function leafHash(eventHash: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, eventHash);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** leafHash and nodeHash over another SHA-256 implementation (same bytes). */
export function merkleHashers(hash: Sha256): { leaf: (eventHash: Uint8Array) => Uint8Array; node: (left: Uint8Array, right: Uint8Array) => Uint8Array } {
  return { leaf: (eventHash) => hash(LEAF_PREFIX, eventHash), node: (left, right) => hash(NODE_PREFIX, left, right) };
}

/**
 * The right edge of a Merkle tree of `size` leaves: the roots of its perfect subtrees,
 * largest first (one per set bit of `size`). Enough to append and to compute the root,
 * so the ledger stores only this (O(log n)) in its chain head.
 */
export interface MerkleFrontier {
  size: number;
  hashes: Uint8Array[];
}

export interface MerkleAccumulator {
  readonly size: number;
  append(leaf: Uint8Array): void;
  root(): Uint8Array;
  frontier(): MerkleFrontier;
}

/**
 * An incremental RFC 9162 tree: append leaf hashes, read the root at any size. O(1)
 * amortised per append, O(log n) per root.
 */
/**
 * Called for every perfect subtree an append completes (level >= 1): its level (height),
 * its index among the subtrees of that level, and its hash. A store keeps some of these
 * to answer proofs without reading every leaf.
 */
export type CompletedSubtree = (level: number, index: number, hash: Uint8Array) => void;

export function createMerkleAccumulator(start: MerkleFrontier = { size: 0, hashes: [] }, onSubtree?: CompletedSubtree, hash: Sha256 = sha256): MerkleAccumulator {
  assertFrontier(start);
  const node2 = merkleHashers(hash).node;
  let size = start.size;
  // stack[i] is the root of a perfect subtree; sizes strictly decrease left to right.
  const stack = start.hashes.slice();
  return {
    get size() {
      return size;
    },
    append(leaf) {
      let node = leaf;
      let level = 0;
      // Merge while the lowest bits of size are 1: each merge completes a perfect subtree.
      for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) {
        node = node2(stack.pop()!, node);
        level++;
        onSubtree?.(level, Math.floor(size / 2 ** level), node);
      }
      stack.push(node);
      size++;
    },
    root() {
      if (stack.length === 0) return EMPTY_ROOT;
      let node = stack[stack.length - 1]!;
      for (let i = stack.length - 2; i >= 0; i--) node = node2(stack[i]!, node);
      return node;
    },
    frontier() {
      return { size, hashes: stack.slice() };
    },
  };
}

/**
 * The frontier after appending a whole perfect subtree of `width` leaves (a power of
 * two) whose root is `root`: what appending its leaves one by one would give. The tree's
 * size must be a multiple of `width`, so every subtree already on the edge is at least as
 * wide. Lets a verifier hash aligned ranges of the log in parallel and join them here.
 */
export function appendSubtree(frontier: MerkleFrontier, root: Uint8Array, width: number, hash: Sha256 = sha256): MerkleFrontier {
  assertFrontier(frontier);
  if (!Number.isSafeInteger(width) || width < 1 || 2 ** Math.round(Math.log2(width)) !== width || frontier.size % width !== 0) {
    throw new RangeError(`a subtree of ${width} leaves cannot be appended to a tree of size ${frontier.size}`);
  }
  const node2 = merkleHashers(hash).node;
  const stack = frontier.hashes.slice();
  let node = root;
  for (let s = frontier.size / width; s % 2 === 1; s = Math.floor(s / 2)) node = node2(stack.pop()!, node);
  stack.push(node);
  return { size: frontier.size + width, hashes: stack };
}

function assertFrontier(frontier: MerkleFrontier): void {
  let bits = 0;
  for (let s = frontier.size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
  if (!Number.isSafeInteger(frontier.size) || frontier.size < 0 || bits !== frontier.hashes.length) {
    throw new RangeError(`frontier of size ${frontier.size} must hold ${bits} hashes, not ${frontier.hashes.length}`);
  }
}

/** The naive RFC 9162 MTH over all leaf hashes; the oracle for the incremental tree. */
export function merkleRootOf(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRootOf(leaves.slice(0, k)), merkleRootOf(leaves.slice(k)));
}
