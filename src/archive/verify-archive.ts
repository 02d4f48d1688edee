import { type SignatureVerifier } from "../core/index.js";
import { parseSegmentObjectName, verifyBundle, verifyConsistency, type BundleCheckOptions, type BundleVerdict, type TrustedKey } from "../verify/index.js";
import type { ObjectStore, ObjectVersion } from "./object-store.js";
import { assertArchiveLocked } from "./open-store.js";

/** What `annal archive verify` compares the archive's end with: the live log. */
export interface LiveLog {
  /** The live log's checkpoint root at `treeSize` (base64), if it has one. */
  rootAt(treeSize: number): Promise<string | undefined>;
  latest(): Promise<{ treeSize: number; rootHash: string } | undefined>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
}

export interface ArchiveVerifyOptions {
  store: ObjectStore;
  prefix: string;
  keys: readonly TrustedKey[];
  retentionDays: number;
  verifySignature?: SignatureVerifier;
  live?: LiveLog;
  /** Witness cosigner keys the checkpoints must carry. */
  witnesses?: readonly string[];
  /** Bundles verified at once (default 1). */
  concurrency?: number;
  /** verifyBundle elsewhere (worker threads) with the same trusted keys; in this thread when absent. */
  verify?: (bytes: Uint8Array, options: Omit<BundleCheckOptions, "verifySignature">) => Promise<BundleVerdict>;
  onProgress?: (done: { segments: number; events: number; bytes: number }, total: { segments: number }) => void;
  now?: () => Date;
}

export interface ArchiveSummary {
  segments: number;
  events: number;
  bytes: number;
  worm: boolean;
  /** The earliest retain-until over all segments. */
  retainedUntil: string | undefined;
  legalHolds: number;
  /** Size of the last sealed checkpoint, and whether the live log was compared with it. */
  lastCheckpoint: number;
  live: { treeSize: number } | undefined;
}

export type ArchiveReport = { ok: true; summary: ArchiveSummary } | { ok: false; object: string; reason: string; summary: ArchiveSummary };

/**
 * Verifies a whole archive: the bucket's lock configuration; every version of every
 * object under the prefix (exactly one version per key, no delete marker, COMPLIANCE,
 * retained at least `retentionDays` after it was written; legal holds counted); every
 * bundle's contents (verifyBundle); continuity from position 1 with no gap or overlap;
 * the manifest chain; and, given the live log, that the last sealed checkpoint is in it
 * (same root) and consistent with its latest checkpoint. Stops at the first problem and
 * names the object.
 */
export async function verifyArchive(options: ArchiveVerifyOptions): Promise<ArchiveReport> {
  const { store, prefix } = options;
  const now = options.now ?? (() => new Date());
  const summary: ArchiveSummary = { segments: 0, events: 0, bytes: 0, worm: store.worm, retainedUntil: undefined, legalHolds: 0, lastCheckpoint: 0, live: undefined };
  const fail = (object: string, reason: string): ArchiveReport => ({ ok: false, object, reason, summary });
  try {
    await assertArchiveLocked(store, options.retentionDays);
  } catch (error) {
    return fail("(bucket)", (error as Error).message);
  }
  const versions = await store.listVersions(prefix);
  const byName = new Map<string, ObjectVersion[]>();
  for (const v of versions) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  const names = [...byName.keys()].sort();
  // Objects are fetched and their bundles verified `concurrency` at a time (on worker
  // threads when `verify` is given); the order-dependent checks (continuity, segment
  // numbers, the manifest chain) then run over the results in name order.
  const check = (name: string) => checkObject(name, byName.get(name)!, options, now);
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const inFlight: Array<Promise<ObjectResult>> = names.slice(0, concurrency).map(check);
  let expectedFrom = 1;
  let previous: string | undefined;
  let lastRoot: string | undefined;
  for (const [i, name] of names.entries()) {
    const result = await inFlight[i]!;
    if (i + concurrency < names.length) inFlight.push(check(names[i + concurrency]!));
    if (!result.ok) {
      await Promise.allSettled(inFlight.slice(i + 1));
      return fail(name, result.reason);
    }
    const { range, verdict, retainUntil, held, bytes } = result;
    if (range.from !== expectedFrom) return fail(name, range.from > expectedFrom ? `gap: positions ${expectedFrom}..${range.from - 1} are in no segment` : `overlap: starts at ${range.from}, but positions up to ${expectedFrom - 1} are already sealed`);
    const m = verdict.manifest;
    if (m.previous !== previous) return fail(name, `manifest.note: the previous manifest hash ${m.previous ?? "-"} is not the hash of the previous segment's manifest (${previous ?? "-"}): the chain of segments is broken`);
    if (m.segment !== summary.segments + 1) return fail(name, `is segment ${m.segment} by its manifest, but number ${summary.segments + 1} in the bucket`);
    if (summary.retainedUntil === undefined || retainUntil < summary.retainedUntil) summary.retainedUntil = retainUntil;
    if (held) summary.legalHolds++;
    previous = verdict.manifestHash;
    lastRoot = m.root;
    expectedFrom = m.to + 1;
    summary.segments++;
    summary.events += verdict.events;
    summary.bytes += bytes;
    summary.lastCheckpoint = m.to;
    options.onProgress?.({ segments: summary.segments, events: summary.events, bytes: summary.bytes }, { segments: names.length });
  }
  if (options.live && summary.lastCheckpoint > 0) {
    const n = summary.lastCheckpoint;
    const liveRoot = await options.live.rootAt(n);
    if (liveRoot === undefined) return fail("(live log)", `the live log has no checkpoint of size ${n}, the last sealed one`);
    if (liveRoot !== lastRoot) return fail("(live log)", `the live log's checkpoint of size ${n} has another root than the sealed one: the log was rewritten after sealing`);
    const latest = await options.live.latest();
    if (!latest || latest.treeSize < n) return fail("(live log)", `the live log is shorter (${latest?.treeSize ?? 0}) than the archive (${n})`);
    if (latest.treeSize > n) {
      const proof = await options.live.consistencyProof(n, latest.treeSize);
      const consistent = verifyConsistency({ from: n, to: latest.treeSize, fromRoot: lastRoot, toRoot: latest.rootHash, path: proof.map((p) => Buffer.from(p).toString("base64")) });
      if (!consistent.ok) return fail("(live log)", `the live log's latest checkpoint (${latest.treeSize}) is not consistent with the last sealed one (${n}): ${consistent.reason}`);
    }
    summary.live = { treeSize: latest.treeSize };
  }
  return { ok: true, summary };
}

type ObjectResult =
  | { ok: true; range: { from: number; to: number }; verdict: Extract<BundleVerdict, { ok: true }>; retainUntil: string; held: boolean; bytes: number }
  | { ok: false; reason: string };

/** The checks of one object that need nothing from the others: its versions, retention, hold and bundle. */
async function checkObject(name: string, list: readonly ObjectVersion[], options: ArchiveVerifyOptions, now: () => Date): Promise<ObjectResult> {
  const { store } = options;
  const bad = (reason: string): ObjectResult => ({ ok: false, reason });
  const range = parseSegmentObjectName(options.prefix, name);
  if (!range) return bad("not a segment object name: a foreign object under the archive prefix");
  const markers = list.filter((v) => v.deleteMarker);
  if (markers.length > 0) return bad(`has a delete marker (version ${markers[0]!.versionId}): someone deleted the sealed key without a version id; the sealed version is still there but the key must hold only it`);
  if (list.length !== 1) return bad(`has ${list.length} versions (${list.map((v) => v.versionId).join(", ")}): a sealed key holds exactly one; a later version was written over it`);
  const version = list[0]!;
  const retention = await store.getRetention(name, version.versionId);
  if (retention.mode !== "COMPLIANCE") return bad(`version ${version.versionId} is not retained in COMPLIANCE mode (${retention.mode ?? "no retention"})`);
  const least = new Date(version.lastModified.getTime() + options.retentionDays * 86_400_000 - 60_000);
  if (!retention.retainUntil || retention.retainUntil < least) return bad(`version ${version.versionId} is retained until ${retention.retainUntil?.toISOString() ?? "never"}, less than ${options.retentionDays} days after it was written`);
  if (retention.retainUntil < now()) return bad(`version ${version.versionId}'s retention ended ${retention.retainUntil.toISOString()}`);
  const held = await store.getLegalHold(name, version.versionId);
  const bytes = await store.get(name, version.versionId);
  const checkOptions = { ...(options.witnesses ? { witnesses: options.witnesses } : {}) };
  const verdict = options.verify
    ? await options.verify(bytes, checkOptions)
    : verifyBundle(bytes, options.keys, { ...checkOptions, ...(options.verifySignature ? { verifySignature: options.verifySignature } : {}) });
  if (!verdict.ok) return bad(`${verdict.file}${verdict.position !== undefined ? ` at position ${verdict.position}` : ""}: ${verdict.reason}`);
  const m = verdict.manifest;
  if (m.from !== range.from || m.to !== range.to) return bad(`the name says ${range.from}..${range.to}, the signed manifest ${m.from}..${m.to}`);
  return { ok: true, range, verdict, retainUntil: retention.retainUntil.toISOString(), held, bytes: bytes.length };
}
