import {
  canonicalJson,
  createMerkleAccumulator,
  decodeHash,
  findNoteSignature,
  parseCheckpointBody,
  parseNote,
  parseStrictJson,
  sha256,
  strictVerifier,
  toBase64,
  utf8,
  verifyEd25519,
  type EventRecord,
  type SignatureVerifier,
} from "../core/index.js";
import { parseCosignerVerifierKey, verifyCosignature } from "./cosignature.js";
import type { TrustedKey } from "./keys.js";
import { createRangeVerifier } from "./range.js";
import {
  CHECKPOINT_FILE,
  decodeBundle,
  EVENTS_FILE,
  FRONTIER_FILE,
  KEYS_FILE,
  LISTED_FILES,
  MANIFEST_FILE,
  manifestKeyName,
  parseManifestText,
  type BundleFileName,
  type SegmentManifest,
} from "./segment-format.js";

export interface BundleCheckOptions {
  /** Defaults to the pure-JS strict verifier, so it runs in browsers; Node passes a native one. */
  verifySignature?: SignatureVerifier;
  /** When known (from the previous segment), the manifest's `previous` line must equal it. */
  previousManifestHash?: string;
  /** The checkpoint origin the auditor expects. */
  origin?: string;
  /** Witness cosigner keys (name+hash+base64 of 0x04 and the key) whose cosignature the checkpoint must carry. */
  witnesses?: readonly string[];
}

export type BundleVerdict =
  | {
      ok: true;
      manifest: SegmentManifest;
      /** base64 SHA-256 of manifest.note: the next segment's `previous`. */
      manifestHash: string;
      events: number;
      /** Cosignatures that verified, by witness name. */
      cosigners: string[];
    }
  | { ok: false; file: BundleFileName | "bundle"; position?: number; reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies one sealed segment bundle offline, with nothing but trusted public keys: the
 * canonical tar form; the manifest's signature under `<origin>/archive` by a trusted key;
 * each file's size and SHA-256 against the manifest; the frontier against the manifest's
 * root-before; every event (shape, data hash, event hash, signature, global and
 * per-stream links inside the range); the Merkle root recomputed from the frontier and
 * the events against the signed checkpoint at the range's end; and the cosignatures.
 * The first failure is returned with the file (and position) it is in.
 *
 * @example
 *   const key = parseTrustedKey("ledger.example/prod+1a2b3c4d+AW..."); // the auditor's own copy
 *   const verdict = verifyBundle(bytes, [key]);
 */
export function verifyBundle(bytes: Uint8Array, keys: readonly TrustedKey[], options: BundleCheckOptions = {}): BundleVerdict {
  const parsed = decodeBundle(bytes);
  if (!parsed.ok) return { ok: false, file: "bundle", reason: parsed.reason };
  const { files } = parsed;
  const text = (name: BundleFileName): string | undefined => {
    try {
      return decoder.decode(files[name]);
    } catch {
      return undefined;
    }
  };
  const verify = options.verifySignature ? strictVerifier(options.verifySignature) : verifyEd25519;

  // 1. The manifest: signed by a trusted key under the archive key name of its origin.
  const manifestNote = text(MANIFEST_FILE);
  const note = manifestNote === undefined ? undefined : parseNote(manifestNote);
  if (!note) return { ok: false, file: MANIFEST_FILE, reason: "manifest is not a signed note" };
  const read = parseManifestText(note.text);
  if (!read.ok) return { ok: false, file: MANIFEST_FILE, reason: read.reason };
  const manifest = read.manifest;
  if (options.origin !== undefined && manifest.origin !== options.origin) return { ok: false, file: MANIFEST_FILE, reason: `manifest origin ${manifest.origin}, expected ${options.origin}` };
  const keyName = manifestKeyName(manifest.origin);
  const manifestBytes = utf8(note.text);
  const signed = keys.some((key) => {
    const signature = findNoteSignature(note, keyName, key.publicKey);
    return signature !== undefined && verify(key.publicKey, manifestBytes, signature.signature);
  });
  if (!signed) return { ok: false, file: MANIFEST_FILE, reason: `manifest has no valid signature by a trusted key under ${keyName}` };
  const manifestHash = toBase64(sha256(files[MANIFEST_FILE]));
  if (options.previousManifestHash !== undefined && manifest.previous !== options.previousManifestHash) {
    return { ok: false, file: MANIFEST_FILE, reason: `manifest's previous hash ${manifest.previous ?? "-"} is not the previous segment's manifest ${options.previousManifestHash}` };
  }
  if ((manifest.segment === 1) !== (manifest.from === 1) || (manifest.segment === 1) !== (manifest.previous === undefined)) {
    return { ok: false, file: MANIFEST_FILE, reason: "only segment 1 starts at position 1, and only it has no previous manifest" };
  }

  // 2. Every listed file is the one the manifest signed.
  for (const name of LISTED_FILES) {
    const want = manifest.files[name];
    if (files[name].length !== want.size) return { ok: false, file: name, reason: `${name} is ${files[name].length} bytes, the manifest says ${want.size}` };
    if (toBase64(sha256(files[name])) !== want.sha256) return { ok: false, file: name, reason: `${name} SHA-256 does not match the manifest` };
  }

  // 3. The frontier of the tree before the range, bound to root-before.
  const frontier = parseFrontier(text(FRONTIER_FILE), manifest.from - 1);
  if (!frontier.ok) return { ok: false, file: FRONTIER_FILE, reason: frontier.reason };
  const before = createMerkleAccumulator({ size: manifest.from - 1, hashes: frontier.hashes.map((h) => decodeHash(h)!) });
  if (toBase64(before.root()) !== manifest.rootBefore) return { ok: false, file: FRONTIER_FILE, reason: "frontier does not give the manifest's root-before" };

  // 4. keys.json is informational, but must be what it says.
  const keysText = text(KEYS_FILE);
  const bundleKeys = keysText === undefined ? undefined : parseKeys(keysText);
  if (!bundleKeys) return { ok: false, file: KEYS_FILE, reason: "keys.json is not canonical JSON of {ledger, witnesses}" };

  // 5. The checkpoint at the range's end, and its cosignatures.
  const checkpointNote = text(CHECKPOINT_FILE);
  const checkpointParsed = checkpointNote === undefined ? undefined : parseNote(checkpointNote);
  const checkpoint = checkpointParsed ? parseCheckpointBody(checkpointParsed.text) : undefined;
  if (!checkpoint || !checkpointParsed) return { ok: false, file: CHECKPOINT_FILE, reason: "checkpoint.note is not a signed tlog-checkpoint" };
  if (checkpoint.origin !== manifest.origin) return { ok: false, file: CHECKPOINT_FILE, reason: `checkpoint origin ${checkpoint.origin} differs from the manifest's ${manifest.origin}` };
  if (checkpoint.treeSize !== manifest.to) return { ok: false, file: CHECKPOINT_FILE, reason: `checkpoint size ${checkpoint.treeSize} is not the range's end ${manifest.to}` };
  if (checkpoint.rootHash !== manifest.root || checkpoint.chainHead !== manifest.chainHead) return { ok: false, file: CHECKPOINT_FILE, reason: "checkpoint root or chain head differs from the manifest's" };
  const cosigners: string[] = [];
  const wanted = options.witnesses ?? bundleKeys.witnesses;
  for (const vkey of wanted) {
    const cosigner = parseCosignerVerifierKey(vkey);
    if (!cosigner) return { ok: false, file: options.witnesses ? "bundle" : KEYS_FILE, reason: `witness key ${vkey} is malformed` };
    const verdict = verifyCosignature(checkpointNote!, cosigner, options.verifySignature ? { verifySignature: options.verifySignature } : {});
    if (!verdict.ok) return { ok: false, file: CHECKPOINT_FILE, reason: verdict.reason };
    cosigners.push(cosigner.name);
  }

  // 6. The events: each one, the links inside the range, and the root at its end.
  const eventsText = text(EVENTS_FILE);
  if (eventsText === undefined) return { ok: false, file: EVENTS_FILE, reason: "events.jsonl is not UTF-8" };
  const verifier = createRangeVerifier({ from: manifest.from, frontier: frontier.hashes }, keys, {
    ...(options.verifySignature ? { verifySignature: options.verifySignature } : {}),
    origin: manifest.origin,
  });
  const lines = eventsText.endsWith("\n") ? eventsText.slice(0, -1).split("\n") : undefined;
  if (!lines) return { ok: false, file: EVENTS_FILE, reason: "events.jsonl must end with a newline" };
  for (const [i, line] of lines.entries()) {
    const position = manifest.from + i;
    let record: EventRecord;
    try {
      record = parseStrictJson(line) as EventRecord;
      if (canonicalJson(record) !== line) return { ok: false, file: EVENTS_FILE, position, reason: "event line is not the record's canonical JSON" };
    } catch (error) {
      return { ok: false, file: EVENTS_FILE, position, reason: `event line is not JSON: ${(error as Error).message}` };
    }
    const verdict = verifier.push(record);
    if (!verdict.ok) return { ok: false, file: EVENTS_FILE, position: verdict.position, reason: verdict.reason };
  }
  if (verifier.size !== manifest.to) return { ok: false, file: EVENTS_FILE, position: verifier.size + 1, reason: `events end at ${verifier.size}, the range at ${manifest.to}` };
  const end = verifier.finish({ note: checkpointNote! });
  if (!end.ok) return { ok: false, file: end.reason.startsWith("checkpoint has no valid") ? CHECKPOINT_FILE : EVENTS_FILE, position: end.position, reason: end.reason };
  return { ok: true, manifest, manifestHash, events: lines.length, cosigners };
}

function parseFrontier(text: string | undefined, size: number): { ok: true; hashes: string[] } | { ok: false; reason: string } {
  if (text === undefined) return { ok: false, reason: "frontier.json is not UTF-8" };
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch {
    return { ok: false, reason: "frontier.json is not JSON" };
  }
  const { size: stated, hashes } = (value ?? {}) as { size?: unknown; hashes?: unknown };
  if (canonicalJson(value) !== text || stated !== size || !Array.isArray(hashes) || hashes.some((h) => typeof h !== "string" || !decodeHash(h))) {
    return { ok: false, reason: `frontier.json must be canonical {"hashes":[base64...],"size":${size}}` };
  }
  let bits = 0;
  for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
  if (hashes.length !== bits) return { ok: false, reason: `a frontier of size ${size} has ${bits} hashes, not ${hashes.length}` };
  return { ok: true, hashes: hashes as string[] };
}

function parseKeys(text: string): { ledger: unknown[]; witnesses: string[] } | undefined {
  try {
    const value = parseStrictJson(text) as { ledger?: unknown; witnesses?: unknown };
    if (canonicalJson(value) !== text || !Array.isArray(value.ledger) || !Array.isArray(value.witnesses)) return undefined;
    if (value.witnesses.some((w) => typeof w !== "string")) return undefined;
    return { ledger: value.ledger as unknown[], witnesses: value.witnesses as string[] };
  } catch {
    return undefined;
  }
}


