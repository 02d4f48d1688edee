import { createMerkleAccumulator, decodeHash, equalBytes, leafHash as leafOf, toBase64, ZERO_HASH, type EventRecord, type MerkleFrontier, type Verdict } from "../core/index.js";
import { verifyCheckpointNote, type CheckpointCheckOptions } from "./checkpoint.js";
import { checkEventShape, verifyEvent, type EventCheckOptions } from "./event.js";
import { createKeyFollower } from "./key-windows.js";
import type { TrustedKey } from "./keys.js";
import { verifyConsistency } from "./proofs.js";

export interface RangeStart {
  /** First position of the range (1 for a whole log). */
  from: number;
  /**
   * The right edge of the tree of size from - 1: roots of its perfect subtrees, largest
   * first (base64). Unverified on its own; the final root comparison binds it.
   */
  frontier: readonly string[];
}

/**
 * Verifies a run of consecutive events that may start after position 1 (an export):
 * each event's hashes and signature, the global chain inside the run, the per-stream
 * chain for streams seen in the run, and at the end the Merkle root against a signed
 * checkpoint (directly, or through a consistency proof to a later checkpoint). Links to
 * events before the run are not checkable; the root binds them instead. Keys are
 * followed along the run (createKeyFollower): with windowless keys, the trusted key that
 * signs the run's first event is taken as the key in force there.
 */
export function createRangeVerifier(start: RangeStart, keys: readonly TrustedKey[], options: EventCheckOptions & CheckpointCheckOptions = {}) {
  const frontierHashes = start.frontier.map((h) => decodeHash(h));
  let failure: (Verdict & { ok: false; code?: string }) | undefined;
  const fail = (position: number, reason: string, code?: string) => (failure = code === undefined ? { ok: false, position, reason } : { ok: false, position, reason, code });
  let tree: ReturnType<typeof createMerkleAccumulator> | undefined;
  try {
    if (!Number.isSafeInteger(start.from) || start.from < 1 || frontierHashes.some((h) => !h)) throw new RangeError("frontier hashes must be 32 bytes of base64");
    tree = createMerkleAccumulator({ size: start.from - 1, hashes: frontierHashes as Uint8Array[] } satisfies MerkleFrontier);
  } catch (error) {
    fail(start.from, `range start is malformed: ${(error as Error).message}`);
  }
  let expected = start.from;
  let prevHash: Uint8Array | undefined = start.from === 1 ? ZERO_HASH : undefined;
  const streams = new Map<string, { version: number; hash: Uint8Array }>();
  const follower = createKeyFollower(keys, options);

  function push(record: EventRecord): Verdict {
    if (failure) return failure;
    if (record.position !== expected) return fail(expected, record.position < expected ? `position ${record.position} repeated or out of order` : `position ${expected} is missing`);
    // The shape first (a record that is not one is named as such), then the key in
    // force at this position, then hashes and the signature by that key.
    const shape = checkEventShape(record);
    if (!shape.ok) return fail(expected, shape.reason);
    const key = follower.resolve(record);
    if (!key.ok) return fail(expected, key.reason, key.code);
    const event = verifyEvent(record, [key.key], options);
    if (!event.ok) return fail(expected, event.reason, event.code);
    const hash = decodeHash(record.hash)!;
    if (prevHash && !equalBytes(decodeHash(record.prevHash)!, prevHash)) return fail(expected, "prevHash does not link to the previous event");
    const stream = streams.get(record.streamId);
    // A stream first seen at position 1 starts there; one first seen later in a run that
    // starts after 1 may have earlier events outside the run.
    if (stream || start.from === 1) {
      if (record.streamVersion !== (stream?.version ?? 0) + 1) return fail(expected, `stream ${record.streamId} version ${record.streamVersion}, expected ${(stream?.version ?? 0) + 1}`);
      if (!equalBytes(decodeHash(record.streamPrevHash)!, stream?.hash ?? ZERO_HASH)) return fail(expected, `streamPrevHash does not link to the previous event of stream ${record.streamId}`);
    }
    streams.set(record.streamId, { version: record.streamVersion, hash });
    prevHash = hash;
    tree!.append(leafOf(hash));
    expected++;
    return { ok: true };
  }

  /**
   * Checks the signed checkpoint the run ends with. If it is larger than the run, the
   * consistency proof from the run's end to it is required.
   */
  function finish(checkpoint: { note: string }, consistencyProof: readonly string[] = []): Verdict {
    if (failure) return failure;
    const size = expected - 1;
    // Signed by the key in force at its size (followed along the run).
    const cp = verifyCheckpointNote(checkpoint.note, follower.windows.length > 0 ? follower.windows : keys, options);
    if (!cp.ok) return fail(size, cp.reason, cp.code);
    const ourRoot = toBase64(tree!.root());
    if (cp.checkpoint.treeSize < size) return fail(size, `checkpoint covers ${cp.checkpoint.treeSize} events, fewer than the ${size} verified`);
    if (cp.checkpoint.treeSize === size) {
      if (consistencyProof.length !== 0) return fail(size, "a checkpoint of the run's own size needs no consistency proof");
      if (cp.checkpoint.rootHash !== ourRoot) return fail(size, "checkpoint root does not match the events");
      if (size > 0 && cp.checkpoint.chainHead !== toBase64(prevHash!)) return fail(size, "checkpoint chain head does not match the last event");
      return { ok: true };
    }
    const consistent = verifyConsistency({ from: size, to: cp.checkpoint.treeSize, fromRoot: ourRoot, toRoot: cp.checkpoint.rootHash, path: consistencyProof });
    return consistent.ok ? consistent : fail(size, `events are not a prefix of the checkpoint: ${consistent.reason}`);
  }

  return {
    push,
    finish,
    get size() {
      return expected - 1;
    },
    root: () => tree!.root(),
    get failure() {
      return failure;
    },
  };
}

export type RangeVerifier = ReturnType<typeof createRangeVerifier>;

/**
 * The right edge of the tree of size `leafIndex` from the inclusion proof of leaf
 * `leafIndex` in any larger tree: the left siblings on its path are exactly the roots
 * of the perfect subtrees that make up the first `leafIndex` leaves. An exporter uses
 * it to start a range without reading every earlier event.
 */
export function frontierFromInclusionProof(leafIndex: number, treeSize: number, proof: readonly Uint8Array[]): Uint8Array[] {
  const left: Uint8Array[] = [];
  let fn = leafIndex;
  let sn = treeSize - 1;
  for (const p of proof) {
    if (fn % 2 === 1 || fn === sn) {
      // Both cases take p as the left sibling (RFC 9162 section 2.1.3.2).
      left.push(p);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Collected bottom-up (smallest subtree first); a frontier lists the largest first.
  return left.reverse();
}
