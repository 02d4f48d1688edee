import { createTar, parseTar } from "nanotar";
import { fromBase64, isValidKeyName, type JsonValue } from "../core/index.js";

// The sealed segment bundle (annal-segment/v1), specified in docs/verification.md:
// a POSIX ustar archive of five regular files, in this order, with fixed attributes
// (mode 0644, uid/gid 0, mtime 0, no owner names), written by nanotar. A bundle is
// accepted only if re-encoding the files it holds gives back the same bytes, so there is
// exactly one byte form per content: rebuilding a segment gives the same object.

export const BUNDLE_FORMAT = "annal-segment/v1";
export const MANIFEST_FILE = "manifest.note";
export const CHECKPOINT_FILE = "checkpoint.note";
export const FRONTIER_FILE = "frontier.json";
export const KEYS_FILE = "keys.json";
export const EVENTS_FILE = "events.jsonl";
/** The files of a bundle in archive order: the signed index first, the bulk last. */
export const BUNDLE_FILES = [MANIFEST_FILE, CHECKPOINT_FILE, FRONTIER_FILE, KEYS_FILE, EVENTS_FILE] as const;
/** The files the manifest lists with their size and SHA-256 (all but itself). */
export const LISTED_FILES = [CHECKPOINT_FILE, FRONTIER_FILE, KEYS_FILE, EVENTS_FILE] as const;
export type BundleFileName = (typeof BUNDLE_FILES)[number];
export type BundleFiles = Record<BundleFileName, Uint8Array>;

const TAR_ATTRS = { mode: "644", uid: 0, gid: 0, mtime: 0, user: "", group: "" };

/** The one byte form of a bundle holding `files`. */
export function encodeBundle(files: BundleFiles): Uint8Array {
  return createTar(BUNDLE_FILES.map((name) => ({ name, data: files[name], attrs: TAR_ATTRS })));
}

export type ParsedBundle = { ok: true; files: BundleFiles } | { ok: false; reason: string };

/** Splits a bundle into its files; refuses anything but the canonical form of the five files. */
export function decodeBundle(bytes: Uint8Array): ParsedBundle {
  // nanotar reads `data.buffer` from offset 0: hand it a view that starts there.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  let entries: Array<{ name: string; data?: Uint8Array }>;
  try {
    entries = parseTar(own);
  } catch (error) {
    return { ok: false, reason: `bundle is not a tar archive: ${(error as Error).message}` };
  }
  const names = entries.map((e) => e.name);
  if (names.length !== BUNDLE_FILES.length || BUNDLE_FILES.some((name, i) => names[i] !== name)) {
    return { ok: false, reason: `bundle must hold exactly ${BUNDLE_FILES.join(", ")} in that order; it holds ${names.join(", ") || "nothing"}` };
  }
  const files = {} as BundleFiles;
  for (const entry of entries) files[entry.name as BundleFileName] = entry.data ? new Uint8Array(entry.data) : new Uint8Array(0);
  const again = encodeBundle(files);
  if (again.length !== own.length || again.some((b, i) => b !== own[i])) {
    return { ok: false, reason: "bundle is not in canonical form (tar headers, padding or trailing bytes differ from the annal-segment/v1 encoding)" };
  }
  return { ok: true, files };
}

/** What the signed manifest states about a segment. */
export interface SegmentManifest {
  origin: string;
  /** 1 for the segment that starts at position 1, then one more per segment. */
  segment: number;
  from: number;
  to: number;
  /** base64 SHA-256 of the previous segment's manifest.note bytes; undefined for segment 1. */
  previous: string | undefined;
  /** base64 RFC 9162 root of the tree of size from - 1. */
  rootBefore: string;
  /** base64 root of the tree of size `to` (the checkpoint's). */
  root: string;
  /** base64 hash of the event at `to`. */
  chainHead: string;
  files: Record<(typeof LISTED_FILES)[number], { size: number; sha256: string }>;
}

/** The key name the manifest is signed under: the log's origin with `/archive` appended. */
export function manifestKeyName(origin: string): string {
  return `${origin}/archive`;
}

/**
 * The manifest note text. Its second line is never a decimal number, so no manifest
 * parses as a tlog-checkpoint (the same key signs both, under different names).
 */
export function formatManifestText(m: SegmentManifest): string {
  const lines = [
    BUNDLE_FORMAT,
    `origin ${m.origin}`,
    `segment ${m.segment}`,
    `range ${m.from} ${m.to}`,
    `previous ${m.previous ?? "-"}`,
    `root-before ${m.rootBefore}`,
    `root ${m.root}`,
    `chain-head ${m.chainHead}`,
    ...LISTED_FILES.map((name) => `file ${name} ${m.files[name].size} ${m.files[name].sha256}`),
  ];
  return `${lines.join("\n")}\n`;
}

const POSITIVE = /^[1-9]\d{0,15}$/;

function hash32(text: string | undefined): string | undefined {
  return text !== undefined && fromBase64(text)?.length === 32 ? text : undefined;
}

/** Parses a manifest note's text; the reason when it is not exactly the annal-segment/v1 form. */
export function parseManifestText(text: string): { ok: true; manifest: SegmentManifest } | { ok: false; reason: string } {
  const bad = (why: string) => ({ ok: false as const, reason: `manifest: ${why}` });
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : [];
  if (lines.length !== 8 + LISTED_FILES.length || lines[0] !== BUNDLE_FORMAT) return bad(`not an ${BUNDLE_FORMAT} manifest`);
  const field = (i: number, key: string): string[] | undefined => {
    const parts = lines[i]!.split(" ");
    return parts[0] === key ? parts.slice(1) : undefined;
  };
  const origin = field(1, "origin");
  const segment = field(2, "segment");
  const range = field(3, "range");
  const previous = field(4, "previous");
  const rootBefore = field(5, "root-before");
  const root = field(6, "root");
  const chainHead = field(7, "chain-head");
  if (origin?.length !== 1 || !isValidKeyName(origin[0]!)) return bad("origin line is malformed");
  if (segment?.length !== 1 || !POSITIVE.test(segment[0]!)) return bad("segment line is malformed");
  if (range?.length !== 2 || !POSITIVE.test(range[0]!) || !POSITIVE.test(range[1]!)) return bad("range line is malformed");
  const from = Number(range[0]);
  const to = Number(range[1]);
  if (!Number.isSafeInteger(to) || to < from) return bad("range must have from <= to");
  if (previous?.length !== 1 || (previous[0] !== "-" && !hash32(previous[0]))) return bad("previous line is malformed");
  if (rootBefore?.length !== 1 || !hash32(rootBefore[0])) return bad("root-before line is malformed");
  if (root?.length !== 1 || !hash32(root[0])) return bad("root line is malformed");
  if (chainHead?.length !== 1 || !hash32(chainHead[0])) return bad("chain-head line is malformed");
  const files = {} as SegmentManifest["files"];
  for (const [i, name] of LISTED_FILES.entries()) {
    const parts = field(8 + i, "file");
    if (parts?.length !== 3 || parts[0] !== name || !/^(0|[1-9]\d{0,15})$/.test(parts[1]!) || !hash32(parts[2])) return bad(`file line for ${name} is malformed`);
    files[name] = { size: Number(parts[1]), sha256: parts[2]! };
  }
  const manifest: SegmentManifest = {
    origin: origin[0]!,
    segment: Number(segment[0]),
    from,
    to,
    previous: previous[0] === "-" ? undefined : previous[0],
    rootBefore: rootBefore[0]!,
    root: root[0]!,
    chainHead: chainHead[0]!,
    files,
  };
  if (formatManifestText(manifest) !== text) return bad("not in canonical form");
  return { ok: true, manifest };
}

/** keys.json: the keys in use when the segment was sealed, for an auditor's convenience (an auditor pins its own). */
export interface BundleKeys {
  /** The ledger keys (C2SP verifier keys, name+hash+base64) that signed events, checkpoints and the manifest. */
  ledger: Array<{ keyId: string; publicKey: string; noteVerifierKey: string }>;
  /** The witnesses configured when the segment was sealed (cosigner verifier keys). */
  witnesses: string[];
}

export function bundleKeysJson(keys: BundleKeys): JsonValue {
  return { ledger: keys.ledger.map((k) => ({ keyId: k.keyId, noteVerifierKey: k.noteVerifierKey, publicKey: k.publicKey })), witnesses: [...keys.witnesses] };
}

/** Object name of a segment: positions zero-padded to 16 digits, so names sort in log order. */
export function segmentObjectName(prefix: string, from: number, to: number): string {
  return `${prefix}${pad(from)}-${pad(to)}.tar`;
}

export function parseSegmentObjectName(prefix: string, name: string): { from: number; to: number } | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const match = /^(\d{16})-(\d{16})\.tar$/.exec(name.slice(prefix.length));
  if (!match) return undefined;
  return { from: Number(match[1]), to: Number(match[2]) };
}

function pad(position: number): string {
  return String(position).padStart(16, "0");
}
