import { availableParallelism } from "node:os";
import cliProgress from "cli-progress";
import { createChainVerifier, decodeHash, fromBase64, keyIdOf, passesEd25519Prechecks, type Verdict } from "../core/index.js";
import { nodeSha256 } from "../ledger/batch-store.js";
import type { EventSource, SourcedRecord } from "./event-sources.js";
import { checkEventShape } from "../verify/event.js";
import { createNodeVerifier } from "./node-verifier.js";
import { createVerifyPool, type SignatureCheck, type VerifyPool } from "./verify-pool.js";
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
  | { ok: false; position: number; reason: string; events: number; checkpoints: number };

/**
 * Recomputes every data hash, event hash, global and per-stream link, signature and
 * checkpoint root of a log, in one pass from position 1. Stops at the first failure and
 * names its position.
 */
export async function verifyLog(source: EventSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  const published = await source.publicKeys();
  const keys = new Map<string, Uint8Array>();
  const noteKeys = new Map<string, { name: string | undefined; publicKey: Uint8Array }>();
  // Keys the source publishes but the auditor did not pin: named in failures as a key mismatch.
  const unpinned = new Set<string>();
  if (options.pinnedKeys && options.pinnedKeys.length > 0) {
    // Pinned keys pin everything: event signatures and checkpoint notes (under the origin's
    // name). Nothing the audited source says about keys is trusted.
    for (const p of options.pinnedKeys) {
      keys.set(keyIdOf(p), p);
      noteKeys.set(keyIdOf(p), { name: undefined, publicKey: p });
    }
    for (const k of published) if (!keys.has(k.keyId)) unpinned.add(k.keyId);
  } else {
    for (const k of published) {
      const raw = fromBase64(k.publicKey);
      if (!raw || raw.length !== 32 || keyIdOf(raw) !== k.keyId) continue;
      keys.set(k.keyId, raw);
      noteKeys.set(k.keyId, { name: k.noteVerifierKey.split("+")[0]!, publicKey: raw });
    }
  }

  const fast = options.fast ?? false;
  const workers = options.workers ?? availableParallelism();
  if (source.databaseUrl !== undefined && workers > 0) return verifyInRanges(source, source.databaseUrl, { ...options, fast, workers }, keys, noteKeys, unpinned);
  // Event signatures go to a worker pool, page by page, while this thread recomputes the
  // hashes, links and roots of the same page; the earlier failure of the two is reported.
  const pool = !fast && workers > 0 ? createVerifyPool(workers) : undefined;
  const verifier = createChainVerifier({ publicKeys: keys, verifySignature: createNodeVerifier(), skipEventSignatures: fast || pool !== undefined, hash: nodeSha256 });
  const total = await source.size();
  const checkpoints = await source.checkpoints(total);
  let nextCheckpoint = 0;
  let checked = 0;
  // The size of the last checkpoint whose signature verified: in --fast mode no event
  // signature is checked, so only events up to here are covered by anything signed.
  let covered = 0;
  const bar = progressBar(options.progress === true && total > 0);
  bar?.start(total, 0);
  let failure: (Verdict & { ok: false }) | undefined;
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
      const signatures = pool ? checkSignatures(pool, page, keys) : Promise.resolve(undefined);
      let chainFailure: (Verdict & { ok: false }) | undefined;
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
          const verdictCp = checkNote(verifier, cp.note, noteKeys, options.origin);
          if (!verdictCp.ok) {
            chainFailure = verdictCp;
            break outer;
          }
          checked++;
          covered = cp.treeSize;
        }
      }
      const signatureFailure = await signatures;
      failure = signatureFailure && (!chainFailure || signatureFailure.position < chainFailure.position) ? signatureFailure : chainFailure;
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
  if (failure && unpinned.size > 0 && /signature|key id/.test(failure.reason)) {
    failure = { ...failure, reason: `${failure.reason} (key mismatch: the source lists key ${[...unpinned].join(", ")}, which is not pinned)` };
  }
  if (failure) return { ok: false, position: failure.position, reason: failure.reason, events: verifier.size, checkpoints: checked };
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

/** The first event of `page` whose signature fails, checked on the pool. */
async function checkSignatures(pool: VerifyPool, page: readonly SourcedRecord[], keys: Map<string, Uint8Array>): Promise<(Verdict & { ok: false }) | undefined> {
  const checks: SignatureCheck[] = [];
  let early: (Verdict & { ok: false }) | undefined;
  for (const { record } of page) {
    const publicKey = keys.get(record.keyId);
    const signature = fromBase64(record.signature);
    const message = decodeHash(record.hash);
    if (!publicKey) early = { ok: false, position: record.position, reason: `unknown key id ${record.keyId}` };
    else if (!signature || !passesEd25519Prechecks(publicKey, signature) || !message) early = { ok: false, position: record.position, reason: "signature does not verify" };
    if (early) break;
    checks.push({ publicKey: publicKey!, message: message!, signature: signature! });
  }
  const index = await pool.firstFailure(checks);
  if (index >= 0) return { ok: false, position: page[index]!.record.position, reason: "signature does not verify" };
  return early;
}

function checkNote(verifier: ReturnType<typeof createChainVerifier>, note: string, keys: Map<string, { name: string | undefined; publicKey: Uint8Array }>, origin?: string): Verdict {
  return verifier.checkCheckpoint(note, [...keys.values()], origin);
}
