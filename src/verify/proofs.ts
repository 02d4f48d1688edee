import { decodeHash, leafHash, verifyConsistencyProof, verifyInclusionProof } from "../core/index.js";
import { fail, type VerifyResult } from "./result.js";

/** Proof hashes as served over HTTP and in receipts: standard base64 strings of 32 bytes. */
export type WireHashes = readonly string[];

/** Decodes proof hashes strictly; undefined if any is not exactly 32 bytes of canonical base64. */
export function decodeProof(path: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(path) || path.length > 64) return undefined;
  const out: Uint8Array[] = [];
  for (const item of path as unknown[]) {
    const hash = typeof item === "string" ? decodeHash(item) : undefined;
    if (!hash) return undefined;
    out.push(hash);
  }
  return out;
}

/**
 * Is the event with hash `eventHash` leaf `leafIndex` (position - 1) of the tree
 * (`treeSize`, `rootHash`)? Take `treeSize` and `rootHash` only from a checkpoint whose
 * signature you verified.
 */
export function verifyInclusion(input: { eventHash: string; leafIndex: number; treeSize: number; auditPath: WireHashes; rootHash: string }): VerifyResult {
  const eventHash = typeof input.eventHash === "string" ? decodeHash(input.eventHash) : undefined;
  const root = typeof input.rootHash === "string" ? decodeHash(input.rootHash) : undefined;
  const path = decodeProof(input.auditPath);
  if (!eventHash || !root) return fail("event hash and root hash must be 32 bytes of base64");
  if (!path) return fail("audit path must be an array of at most 64 hashes of 32 bytes (base64)");
  const verdict = verifyInclusionProof(input.leafIndex, input.treeSize, leafHash(eventHash), path, root);
  return verdict.ok ? verdict : fail(`inclusion proof: ${verdict.reason}`);
}

/** Is the tree (`to`, `toRoot`) an append-only extension of (`from`, `fromRoot`)? */
export function verifyConsistency(input: { from: number; to: number; fromRoot: string; toRoot: string; path: WireHashes }): VerifyResult {
  const root1 = typeof input.fromRoot === "string" ? decodeHash(input.fromRoot) : undefined;
  const root2 = typeof input.toRoot === "string" ? decodeHash(input.toRoot) : undefined;
  const path = decodeProof(input.path);
  if (!root1 || !root2) return fail("root hashes must be 32 bytes of base64");
  if (!path) return fail("consistency path must be an array of at most 64 hashes of 32 bytes (base64)");
  const verdict = verifyConsistencyProof(input.from, input.to, root1, root2, path);
  return verdict.ok ? verdict : fail(`consistency proof: ${verdict.reason}`);
}
