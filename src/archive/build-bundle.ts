import { canonicalJson, createMerkleAccumulator, formatNote, noteKeyHash, parseCheckpointBody, parseNote, sha256, toBase64, utf8, type EventRecord, type MerkleFrontier } from "../core/index.js";
import {
  bundleKeysJson,
  CHECKPOINT_FILE,
  encodeBundle,
  EVENTS_FILE,
  formatManifestText,
  FRONTIER_FILE,
  KEYS_FILE,
  LISTED_FILES,
  MANIFEST_FILE,
  manifestKeyName,
  type BundleFiles,
  type BundleKeys,
  type SegmentManifest,
} from "../verify/segment-format.js";

export interface SegmentInput {
  segment: number;
  /** The events from..to, in order (already checked contiguous by the follower's reader). */
  events: readonly EventRecord[];
  /** The frontier of the tree of size from - 1. */
  frontier: MerkleFrontier;
  /** The signed checkpoint of size `to`, with the witnesses' cosignature lines. */
  checkpointNote: string;
  keys: BundleKeys;
  /** base64 SHA-256 of the previous segment's manifest.note; undefined for segment 1. */
  previous: string | undefined;
}

/** The ledger key as the sealer uses it (any Signer: the manifest is signed with the batch API). */
export interface ManifestSigner {
  readonly publicKey: Uint8Array;
  signMany(messages: Uint8Array[]): Promise<Uint8Array[]>;
}

export interface BuiltBundle {
  bytes: Uint8Array;
  sha256: string;
  manifest: SegmentManifest;
  manifestHash: string;
}

/** A bundle with everything but the manifest's signature: the heavy, pure part (runs in a worker). */
export interface PreparedBundle {
  files: Omit<BundleFiles, typeof MANIFEST_FILE>;
  manifest: SegmentManifest;
  /** The manifest note text to sign under `keyName`. */
  text: string;
  keyName: string;
}

export function prepareBundle(input: SegmentInput): PreparedBundle {
  const first = input.events[0];
  const last = input.events[input.events.length - 1];
  if (!first || !last) throw new RangeError("a segment holds at least one event");
  const from = first.position;
  const to = last.position;
  if (input.frontier.size !== from - 1) throw new RangeError(`the frontier must be of size ${from - 1}, not ${input.frontier.size}`);
  const checkpoint = parseCheckpointBody(parseNote(input.checkpointNote)?.text ?? "");
  if (!checkpoint || checkpoint.treeSize !== to) throw new RangeError(`the checkpoint must be of size ${to}`);
  const before = createMerkleAccumulator(input.frontier);
  const files: PreparedBundle["files"] = {
    [CHECKPOINT_FILE]: utf8(input.checkpointNote),
    [FRONTIER_FILE]: utf8(canonicalJson({ size: input.frontier.size, hashes: input.frontier.hashes.map(toBase64) })),
    [KEYS_FILE]: utf8(canonicalJson(bundleKeysJson(input.keys))),
    [EVENTS_FILE]: utf8(input.events.map((e) => `${canonicalJson(e)}\n`).join("")),
  };
  const manifest: SegmentManifest = {
    origin: checkpoint.origin,
    segment: input.segment,
    from,
    to,
    previous: input.previous,
    rootBefore: toBase64(before.root()),
    root: checkpoint.rootHash,
    chainHead: last.hash,
    files: Object.fromEntries(LISTED_FILES.map((name) => [name, { size: files[name].length, sha256: toBase64(sha256(files[name])) }])) as SegmentManifest["files"],
  };
  return { files, manifest, text: formatManifestText(manifest), keyName: manifestKeyName(checkpoint.origin) };
}

/** The manifest note: its text and one signature line (`signature` over the text) under the archive key name. */
export function manifestNote(prepared: Pick<PreparedBundle, "text" | "keyName">, publicKey: Uint8Array, signature: Uint8Array): string {
  return formatNote(prepared.text, [{ name: prepared.keyName, keyHash: noteKeyHash(prepared.keyName, publicKey), signature }]);
}

/** Signs the manifest text with the ledger key and returns the manifest note. */
export async function signManifest(prepared: Pick<PreparedBundle, "text" | "keyName">, signer: ManifestSigner): Promise<string> {
  const [signature] = await signer.signMany([utf8(prepared.text)]);
  return manifestNote(prepared, signer.publicKey, signature!);
}

export function finishBundle(prepared: PreparedBundle, manifestNote: string): BuiltBundle {
  const manifestBytes = utf8(manifestNote);
  const bytes = encodeBundle({ [MANIFEST_FILE]: manifestBytes, ...prepared.files });
  return { bytes, sha256: toBase64(sha256(bytes)), manifest: prepared.manifest, manifestHash: toBase64(sha256(manifestBytes)) };
}

/**
 * Builds the bundle of one segment. Deterministic: the same inputs give the same bytes
 * (canonical JSON lines, fixed tar attributes, Ed25519's deterministic signatures), so a
 * sealer that crashed can rebuild and compare with what it uploaded.
 */
export function buildBundle(input: SegmentInput, key: { publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array }): BuiltBundle {
  const prepared = prepareBundle(input);
  return finishBundle(prepared, manifestNote(prepared, key.publicKey, key.sign(utf8(prepared.text))));
}
