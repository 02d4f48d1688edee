import { type SignatureVerifier } from "../core/index.js";
import { parseSegmentObjectName, verifyBundle, verifyConsistency, type TrustedKey } from "../verify/index.js";
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
  let expectedFrom = 1;
  let previous: string | undefined;
  let lastRoot: string | undefined;
  for (const name of names) {
    const list = byName.get(name)!;
    const range = parseSegmentObjectName(prefix, name);
    if (!range) return fail(name, "not a segment object name: a foreign object under the archive prefix");
    const markers = list.filter((v) => v.deleteMarker);
    if (markers.length > 0) return fail(name, `has a delete marker (version ${markers[0]!.versionId}): someone deleted the sealed key without a version id; the sealed version is still there but the key must hold only it`);
    if (list.length !== 1) return fail(name, `has ${list.length} versions (${list.map((v) => v.versionId).join(", ")}): a sealed key holds exactly one; a later version was written over it`);
    const version = list[0]!;
    if (range.from !== expectedFrom) return fail(name, range.from > expectedFrom ? `gap: positions ${expectedFrom}..${range.from - 1} are in no segment` : `overlap: starts at ${range.from}, but positions up to ${expectedFrom - 1} are already sealed`);
    const retention = await store.getRetention(name, version.versionId);
    if (retention.mode !== "COMPLIANCE") return fail(name, `version ${version.versionId} is not retained in COMPLIANCE mode (${retention.mode ?? "no retention"})`);
    const least = new Date(version.lastModified.getTime() + options.retentionDays * 86_400_000 - 60_000);
    if (!retention.retainUntil || retention.retainUntil < least) return fail(name, `version ${version.versionId} is retained until ${retention.retainUntil?.toISOString() ?? "never"}, less than ${options.retentionDays} days after it was written`);
    if (retention.retainUntil < now()) return fail(name, `version ${version.versionId}'s retention ended ${retention.retainUntil.toISOString()}`);
    if (summary.retainedUntil === undefined || retention.retainUntil.toISOString() < summary.retainedUntil) summary.retainedUntil = retention.retainUntil.toISOString();
    if (await store.getLegalHold(name, version.versionId)) summary.legalHolds++;
    const bytes = await store.get(name, version.versionId);
    const verdict = verifyBundle(bytes, options.keys, {
      ...(options.verifySignature ? { verifySignature: options.verifySignature } : {}),
      ...(previous !== undefined ? { previousManifestHash: previous } : {}),
      ...(options.witnesses ? { witnesses: options.witnesses } : {}),
    });
    if (!verdict.ok) return fail(name, `${verdict.file}${verdict.position !== undefined ? ` at position ${verdict.position}` : ""}: ${verdict.reason}`);
    const m = verdict.manifest;
    if (m.from !== range.from || m.to !== range.to) return fail(name, `the name says ${range.from}..${range.to}, the signed manifest ${m.from}..${m.to}`);
    if (m.segment !== summary.segments + 1) return fail(name, `is segment ${m.segment} by its manifest, but number ${summary.segments + 1} in the bucket`);
    previous = verdict.manifestHash;
    lastRoot = m.root;
    expectedFrom = m.to + 1;
    summary.segments++;
    summary.events += verdict.events;
    summary.bytes += bytes.length;
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
