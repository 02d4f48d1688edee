import { availableParallelism } from "node:os";
import cliProgress from "cli-progress";
import { createChainVerifier, decodeHash, fromBase64, keyIdOf, passesEd25519Prechecks, type EventRecord, type Verdict } from "../core/index.js";
import { nodeSha256 } from "../ledger/batch-store.js";
import type { EventSource, SourcedRecord } from "./event-sources.js";
import { checkEventShape } from "../verify/event.js";
import { createKeyFollower, isKeyRotation, type KeyFollower } from "../verify/key-windows.js";
import { resolveTrustedKey, type TrustedKey } from "../verify/keys.js";
import { createNodeVerifier } from "./node-verifier.js";
import { createVerifyPool, type SignatureCheck, type VerifyPool } from "./verify-pool.js";
import { workerScript } from "./verify-range-workers.js";
import { verifyRanges } from "./verify-ranges.js";

export interface VerifyOptions {
  /**
   * Pinned public keys (an auditor's own copy): then they are the only keys trusted, for
   * events and checkpoints alike, and the source's key list is not read for trust.
   * Otherwise the source's published keys are used.
   */
  pinnedKeys?: Uint8Array[];
  /** Checkpoint origin / note key name to expect. */
  origin?: string;
  fast?: boolean;
  progress?: boolean;
  pageSize?: number;
  /**
   * Worker threads (default: one per core). A database source is read and checked by
   * them in parallel ranges; other sources send them event signatures. 0 verifies
   * everything on the main thread, one page after another.
   */
  workers?: number;
  /** Events per parallel range (a power of two; tests use small ones to put boundaries anywhere). */
  rangeSize?: number;
}

export type VerifyReport =
  | { ok: true; events: number; checkpoints: number; root: string }
  | { ok: false; position: number; reason: string; code?: string; events: number; checkpoints: number };

/**
 * Recomputes every data hash, event hash, global and per-stream link, signature and
 * checkpoint root of a log, in one pass from position 1. Stops at the first failure and
 * names its position.
 */
export async function verifyLog(source: EventSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  // A database is read by range workers: have their script ready by the time they start.
  if (source.databaseUrl !== undefined && options.workers !== 0) void workerScript();
  const published = await source.publicKeys();
  const trusted: TrustedKey[] = [];
  // Keys the source publishes but the auditor did not pin: named in failures as a key mismatch.
  const unpinned = new Set<string>();
  if (options.pinnedKeys && options.pinnedKeys.length > 0) {
    // Pinned keys pin everything: event signatures and checkpoint notes (under the origin's
    // name). Nothing the audited source says about keys is trusted; keys after a pinned
    // one are followed through the log's verified KeyRotated events.
    for (const p of options.pinnedKeys) trusted.push({ name: undefined, publicKey: p, keyId: keyIdOf(p) });
    for (const k of published) if (!trusted.some((t) => t.keyId === k.keyId)) unpinned.add(k.keyId);
  } else {
    // The source's keys with their published windows; the log must agree with them.
    for (const k of published) {
      const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition !== undefined ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition !== undefined ? { toPosition: k.toPosition } : {}) });
      if ("error" in key || key.keyId !== k.keyId || fromBase64(k.publicKey)?.length !== 32) continue;
      trusted.push(key);
    }
  }
  const nodeVerifier = createNodeVerifier();
  const follower = createKeyFollower(trusted, { verifySignature: nodeVerifier, ...(options.origin !== undefined ? { origin: options.origin } : {}) });

  const fast = options.fast ?? false;
  const workers = options.workers ?? availableParallelism();
  // The parallel range reader checks one key: a log with rotations (more than one key) is
  // followed in order by the key follower below. A source that hides its later keys fails
  // the range reader at the first event they signed, never passes it.
  const single = trusted.length === 1 && published.length <= 1 ? trusted[0]! : undefined;
  if (source.databaseUrl !== undefined && workers > 0 && single && (single.fromPosition ?? 1) <= 1 && single.toPosition === undefined) {
    const keys = new Map([[single.keyId, single.publicKey]]);
    const noteKeys = new Map([[single.keyId, { name: single.name, publicKey: single.publicKey }]]);
    return verifyInRanges(source, source.databaseUrl, { ...options, fast, workers }, keys, noteKeys, unpinned);
  }
  // Event signatures go to a worker pool, page by page, while this thread recomputes the
  // hashes, links and roots of the same page; the earlier failure of the two is reported.
  const pool = !fast && workers > 0 ? createVerifyPool(workers) : undefined;
  // Event signatures are checked here (with the key the follower says is in force), not by
  // the chain verifier, which checks hashes, links and roots.
  const verifier = createChainVerifier({ publicKeys: new Map(), verifySignature: nodeVerifier, skipEventSignatures: true, hash: nodeSha256 });
  const total = await source.size();
  const checkpoints = await source.checkpoints(total);
  let nextCheckpoint = 0;
  let checked = 0;
  // Sizes of the checkpoints verified, to count only those before a failure found later.
  const checkedSizes: number[] = [];
  // The size of the last checkpoint whose signature verified: in --fast mode no event
  // signature is checked, so only events up to here are covered by anything signed.
  let covered = 0;
  const bar = progressBar(options.progress === true && total > 0);
  bar?.start(total, 0);
  let failure: Failure | undefined;
  try {
    const pages = source.pages(options.pageSize ?? 1000)[Symbol.asyncIterator]();
    let next = pages.next();
    while (!failure) {
      const current = await next;
      if (current.done) break;
      // Only the log as sized when verification began: rows appended since are not
      // covered by the checkpoints fetched, so they are left for the next run.
      const page = current.value.filter((r) => r.record.position <= total);
      const atEnd = page.length < current.value.length;
      if (!atEnd) next = pages.next(); // fetch the next page while this one is checked
      // Keys first: which key is in force at each position (following rotations), then
      // the signatures with those keys, on the pool while the chain is checked here.
      const resolved = resolveKeys(follower, page, !fast);
      const signatures = fast ? Promise.resolve(undefined) : checkSignatures(pool, resolved.checks, nodeVerifier);
      let chainFailure: Failure | undefined;
      outer: for (const { record, stored } of page) {
        // A served record has exactly the members of section 3; a database row is read
        // member by member, so only served records need the check.
        const shape = stored === undefined ? checkEventShape(record) : undefined;
        if (shape && !shape.ok) {
          chainFailure = { ok: false, position: verifier.size + 1, reason: shape.reason };
          break;
        }
        const verdict = verifier.push(record, stored);
        if (!verdict.ok) {
          chainFailure = verdict;
          break;
        }
        while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.treeSize === verifier.size) {
          const cp = checkpoints[nextCheckpoint++]!;
          const verdictCp = checkNote(verifier, follower, trusted, cp.note, options.origin);
          if (!verdictCp.ok) {
            chainFailure = verdictCp;
            break outer;
          }
          checked++;
          checkedSizes.push(cp.treeSize);
          covered = cp.treeSize;
        }
      }
      const signatureFailure = earliest(resolved.failure, await signatures);
      // On a tie the chain's reason wins (a rewritten link also breaks the signature over it).
      failure = earliest(chainFailure, signatureFailure);
      bar?.update(verifier.size);
      if (atEnd) break;
    }
    // Stop a prefetch that is still running (its result is not needed).
    await next.then(() => undefined, () => undefined);
  } finally {
    bar?.stop();
    await pool?.close();
  }
  if (!failure && verifier.size < total) failure = { ok: false, position: verifier.size + 1, reason: `log ends at ${verifier.size}, expected ${total} events` };
  if (!failure && nextCheckpoint < checkpoints.length) {
    const cp = checkpoints[nextCheckpoint]!;
    failure = { ok: false, position: cp.treeSize, reason: `checkpoint of size ${cp.treeSize} covers events that are missing` };
  }
  if (!failure && fast && covered < verifier.size) {
    failure = { ok: false, position: covered + 1, reason: `no verified checkpoint covers events ${covered + 1}..${verifier.size}, and --fast checks no event signatures` };
  }
  if (failure && unpinned.size > 0 && /signature|not trusted/.test(failure.reason)) {
    failure = { ...failure, reason: `${failure.reason} (key mismatch: the source lists key ${[...unpinned].join(", ")}, which is not pinned)` };
  }
  if (failure) {
    // Signatures of a page are checked beside its chain, so the chain may have gone past a
    // bad signature: the report counts what was verified before the failing position.
    const before = failure.position - 1;
    const events = Math.min(verifier.size, before);
    return { ok: false, position: failure.position, reason: failure.reason, ...(failure.code ? { code: failure.code } : {}), events, checkpoints: checkedSizes.filter((size) => size <= events).length };
  }
  return { ok: true, events: verifier.size, checkpoints: checked, root: Buffer.from(verifier.root()).toString("base64") };
}

/**
 * verifyLog for a database: ranges read and checked in parallel (verify-ranges.ts), with
 * the same checks, failures and report as the sequential pass.
 */
async function verifyInRanges(
  source: EventSource,
  databaseUrl: string,
  options: VerifyOptions & { fast: boolean; workers: number },
  keys: Map<string, Uint8Array>,
  noteKeys: Map<string, { name: string | undefined; publicKey: Uint8Array }>,
  unpinned: Set<string>,
): Promise<VerifyReport> {
  const total = await source.size();
  const checkpoints = await source.checkpoints(total);
  const bar = progressBar(options.progress === true && total > 0);
  bar?.start(total, 0);
  let outcome: Awaited<ReturnType<typeof verifyRanges>>;
  try {
    outcome = await verifyRanges({
      databaseUrl,
      total,
      checkpoints,
      eventKeys: options.fast ? undefined : keys,
      noteKeys: [...noteKeys.values()],
      origin: options.origin,
      verifySignature: createNodeVerifier(),
      workers: options.workers,
      ...(options.rangeSize ? { rangeSize: options.rangeSize } : {}),
      onProgress: (n) => bar?.update(n),
    });
  } finally {
    bar?.stop();
  }
  let failure = outcome.failure;
  if (!failure && outcome.size < total) failure = { ok: false, position: outcome.size + 1, reason: `log ends at ${outcome.size}, expected ${total} events` };
  if (!failure && outcome.nextCheckpoint < checkpoints.length) {
    const cp = checkpoints[outcome.nextCheckpoint]!;
    failure = { ok: false, position: cp.treeSize, reason: `checkpoint of size ${cp.treeSize} covers events that are missing` };
  }
  if (!failure && options.fast && outcome.covered < outcome.size) {
    failure = { ok: false, position: outcome.covered + 1, reason: `no verified checkpoint covers events ${outcome.covered + 1}..${outcome.size}, and --fast checks no event signatures` };
  }
  if (failure && unpinned.size > 0 && /signature|key id/.test(failure.reason)) {
    failure = { ...failure, reason: `${failure.reason} (key mismatch: the source lists key ${[...unpinned].join(", ")}, which is not pinned)` };
  }
  if (failure) return { ok: false, position: failure.position, reason: failure.reason, events: outcome.size, checkpoints: outcome.checked };
  return { ok: true, events: outcome.size, checkpoints: outcome.checked, root: Buffer.from(outcome.root).toString("base64") };
}

function progressBar(on: boolean): cliProgress.SingleBar | undefined {
  return on
    ? new cliProgress.SingleBar({ format: "verify [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
}

type Failure = Verdict & { ok: false; code?: string };

function earliest(a: Failure | undefined, b: Failure | undefined): Failure | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.position < a.position ? b : a;
}

interface PositionedCheck extends SignatureCheck {
  position: number;
}

/**
 * The key in force for each event of `page`, in order; stops at the first event signed by
 * a key outside its window (or a rotation that does not verify), which is the failure.
 */
function resolveKeys(follower: KeyFollower, page: readonly SourcedRecord[], signatures: boolean): { checks: PositionedCheck[]; failure?: Failure } {
  const checks: PositionedCheck[] = [];
  for (const { record: served, stored } of page) {
    // A database row carries its data as the stored canonical text (checked against
    // dataHash by the chain verifier); a KeyRotated event's data is what the follower reads.
    const record = served.data === undefined && stored?.data !== undefined && isKeyRotation(served) ? { ...served, data: JSON.parse(stored.data) as EventRecord["data"] } : served;
    const key = follower.resolve(record);
    if (!key.ok) return { checks, failure: { ok: false, position: record.position, reason: key.reason, code: key.code } };
    // --fast checks no event signature (only the signed checkpoints), but still follows keys.
    if (!signatures) continue;
    const signature = fromBase64(record.signature);
    const message = decodeHash(record.hash);
    if (!signature || !message || !passesEd25519Prechecks(key.key.publicKey, signature)) return { checks, failure: { ok: false, position: record.position, reason: "signature does not verify" } };
    checks.push({ publicKey: key.key.publicKey, message, signature, position: record.position });
  }
  return { checks };
}

/** The first check whose signature fails: on the pool, or here without one. */
async function checkSignatures(pool: VerifyPool | undefined, checks: readonly PositionedCheck[], verify: ReturnType<typeof createNodeVerifier>): Promise<Failure | undefined> {
  const index = pool ? await pool.firstFailure(checks) : checks.findIndex((c) => !verify(c.publicKey, c.message, c.signature));
  return index >= 0 ? { ok: false, position: checks[index]!.position, reason: "signature does not verify" } : undefined;
}

/**
 * A checkpoint of size n must carry the signature of the key in force at position n (an
 * overlap signature by the previous key is extra and not needed).
 */
function checkNote(verifier: ReturnType<typeof createChainVerifier>, follower: KeyFollower, trusted: readonly TrustedKey[], note: string, origin?: string): Verdict {
  const key = follower.keyAt(verifier.size) ?? (verifier.size === 0 ? undefined : null);
  if (key === null) return { ok: false, position: verifier.size, reason: `checkpoint at tree size ${verifier.size}: no key is in force there` };
  return verifier.checkCheckpoint(note, key ? [key] : trusted, origin);
}
