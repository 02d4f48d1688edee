import { appendSubtree, checkCheckpointNote, EMPTY_ROOT, merkleHashers, ZERO_HASH, type CheckpointKey, type MerkleFrontier, type SignatureVerifier, type Verdict } from "../core/index.js";
import { nodeSha256 } from "../ledger/batch-store.js";
import type { CheckpointView } from "../ledger/types.js";
import type { EventKeys } from "./event-signature.js";
import type { RangeJob, RangeResult } from "./verify-range.js";
import { createRangeWorkers } from "./verify-range-workers.js";

/**
 * Events per range: a power of two, so every complete range is one perfect Merkle
 * subtree. The last range is where a worker can idle while another finishes, so there are
 * at least 16 ranges per worker (64 with event signatures, where a range takes ten times
 * as long), between 2^11 and 2^15 events.
 */
export function defaultRangeSize(total: number, workers: number, signatures: boolean): number {
  const target = total / (Math.max(1, workers) * (signatures ? 64 : 16));
  return 2 ** Math.min(15, Math.max(11, Math.floor(Math.log2(Math.max(1, target)))));
}

export interface RangeVerification {
  databaseUrl: string;
  /** Events to verify: positions 1..total. */
  total: number;
  /** Checkpoints to check, ascending by tree size. */
  checkpoints: readonly CheckpointView[];
  /** Event keys; undefined for --fast (no event signatures). */
  eventKeys: EventKeys | undefined;
  noteKeys: readonly CheckpointKey[];
  origin: string | undefined;
  verifySignature: SignatureVerifier;
  workers: number;
  rangeSize?: number;
  onProgress?: (verified: number) => void;
}

export interface RangeOutcome {
  failure?: Verdict & { ok: false };
  /** Events verified in order from position 1 (on a failure: before it). */
  size: number;
  root: Uint8Array;
  /** Checkpoints whose signature and root were checked. */
  checked: number;
  /** The size of the last of them. */
  covered: number;
  /** Index of the first checkpoint not reached. */
  nextCheckpoint: number;
}

/**
 * The log from PostgreSQL in aligned ranges, checked in parallel by worker threads (each
 * with its own connection), then joined here in position order: every link that crosses
 * a range boundary (prevHash, each stream's version and streamPrevHash) is checked at the
 * join, so the chain check covers every link exactly as the sequential procedure does
 * (docs/verification.md section 9) and names the same first failing position.
 */
export async function verifyRanges(input: RangeVerification): Promise<RangeOutcome> {
  const rangeSize = input.rangeSize ?? defaultRangeSize(input.total, input.workers, input.eventKeys !== undefined);
  if (2 ** Math.round(Math.log2(rangeSize)) !== rangeSize) throw new RangeError(`range size ${rangeSize} is not a power of two`);
  const { total, checkpoints } = input;
  const workers = createRangeWorkers(input.workers, { databaseUrl: input.databaseUrl, ...(input.eventKeys ? { keys: [...input.eventKeys] } : {}) });
  const hash = nodeSha256;
  let frontier: MerkleFrontier = { size: 0, hashes: [] };
  let prev: Uint8Array = ZERO_HASH;
  const streams = new Map<string, { version: number; hash: Uint8Array }>();
  let nextCheckpoint = 0;
  let checked = 0;
  let covered = 0;
  let failure: (Verdict & { ok: false }) | undefined;
  // On a failure: the events verified before it (as the sequential pass counts them).
  let verifiedBefore = 0;

  // Each worker has two jobs at a time, so its next COPY is queued while it checks the
  // current one; a new job is handed out as soon as any job is done (to the least busy
  // worker), and results are joined strictly in position order.
  const ranges = Math.ceil(total / rangeSize);
  // Results by range index; a joined one is dropped (a long log's results are not all kept).
  const results = new Map<number, Promise<RangeResult>>();
  let stopped = false;
  let issued = 0;
  let done = 0;
  let joined = 0;
  const window = Math.max(1, input.workers) * 2;
  const issue = () => {
    // Not too far past the join: a stalled worker must not make the others read the whole log.
    while (issued < ranges && issued - done < window && issued - joined < window * 4) {
      const from = issued * rangeSize + 1;
      const to = Math.min(total, (issued + 1) * rangeSize);
      const sizes: number[] = [];
      for (const cp of checkpoints) if (cp.treeSize >= from && cp.treeSize <= to) sizes.push(cp.treeSize);
      const job: RangeJob = { id: issued, from, to, total, checkpointSizes: sizes };
      const result = workers.check(job);
      result.then(
        () => {
          done++;
          if (!failure && !stopped) issue();
        },
        () => undefined, // awaited in order below
      );
      results.set(issued, result);
      issued++;
    }
  };
  try {
    issue();
    while (joined < issued && !failure) {
      const r = await results.get(joined)!;
      results.delete(joined);
      joined++;
      failure = join(r);
      input.onProgress?.(frontier.size);
      if (r.ended && !failure) break;
      issue();
    }
  } finally {
    stopped = true;
    await workers.close();
  }
  const root = foldRoot(frontier.hashes);
  return { ...(failure ? { failure } : {}), size: failure ? verifiedBefore : frontier.size, root, checked, covered, nextCheckpoint };

  /** Joins one range onto the log verified so far; the first failure by position, or undefined. */
  function join(r: RangeResult): (Verdict & { ok: false }) | undefined {
    // The failures of this range: the worker's own, and the links into earlier ranges.
    let first: (Verdict & { ok: false }) | undefined;
    const consider = (position: number, reason: string) => {
      if (!first || position < first.position) first = { ok: false, position, reason };
    };
    if (r.failure) consider(r.failure.position, r.failure.reason);
    // At the same position the signature check comes after the links (section 9, 2.4-2.5):
    // a link failure there wins over a signature failure, not over a hash failure.
    const linkWins = (position: number) => !first || position < first.position || (position === first.position && r.failure?.signature === true);
    if (r.firstPrevHash && !bytesEqual(r.firstPrevHash, prev) && linkWins(r.from)) {
      first = { ok: false, position: r.from, reason: "prevHash does not link to the previous event" };
    }
    for (const [streamId, version, streamPrev, position] of r.streamEntries) {
      if (first && position > first.position) break;
      const known = streams.get(streamId);
      const expected = (known?.version ?? 0) + 1;
      let reason: string | undefined;
      if (version !== expected) reason = `stream ${streamId} version ${version}, expected ${expected}`;
      else if (!bytesEqual(streamPrev, known?.hash ?? ZERO_HASH)) reason = `streamPrevHash does not link to the previous event of stream ${streamId}`;
      if (reason !== undefined && linkWins(position)) {
        first = { ok: false, position, reason };
        break;
      }
    }
    // Events before the first failure are verified: check the checkpoints they reach, in
    // order (a checkpoint at size s is checked before the event s + 1).
    const good = first ? first.position - r.from : r.verified;
    const base = frontier;
    for (const cp of r.checkpoints) {
      if (cp.size - r.from >= good) break;
      while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.treeSize === cp.size) {
        const note = checkpoints[nextCheckpoint++]!.note;
        const verdict = checkCheckpointNote(note, {
          keys: input.noteKeys,
          origin: input.origin,
          size: cp.size,
          // The edge up to the range, then the range's own edge up to the checkpoint: folded
          // from the right, as a root is (at a range's end the last two may be of one size).
          root: () => foldRoot([...base.hashes, ...cp.frontier]),
          chainHead: cp.chainHead,
          verifySignature: input.verifySignature,
        });
        if (!verdict.ok) {
          verifiedBefore = cp.size;
          return verdict;
        }
        checked++;
        covered = cp.size;
      }
    }
    if (first) {
      verifiedBefore = first.position - 1;
      return first;
    }
    // The range is verified and linked: carry its state forward.
    if (r.lastHash) prev = r.lastHash;
    for (const [streamId, version, h] of r.streamExits) streams.set(streamId, { version, hash: h });
    if (r.verified === rangeSize) frontier = appendSubtree(frontier, r.frontier[0]!, rangeSize, hash);
    else if (r.verified > 0) frontier = { size: frontier.size + r.verified, hashes: [...frontier.hashes, ...r.frontier] };
    if (r.ended) {
      verifiedBefore = frontier.size;
      return { ok: false, position: frontier.size + 1, reason: `log ends at ${frontier.size}, expected ${total} events` };
    }
    return undefined;
  }
}

function foldRoot(hashes: readonly Uint8Array[]): Uint8Array {
  const node = merkleHashers(nodeSha256).node;
  if (hashes.length === 0) return EMPTY_ROOT;
  let root = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) root = node(hashes[i]!, root);
  return root;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
