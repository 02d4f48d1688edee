import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import cliProgress from "cli-progress";
import { parseCheckpointBody, parseNote, parseStrictJson, toBase64, type EventRecord } from "../core/index.js";
import { createRangeVerifier, parseTrustedKey, resolveTrustedKey, type TrustedKey } from "../verify/index.js";
import { EXPORT_FORMAT, type ExportHeader, type ExportTrailer } from "./export-log.js";
import { createNodeVerifier } from "./node-verifier.js";

export type ExportReport =
  | { ok: true; from: number; to: number; checkpoint: number; root: string; pinned: boolean }
  | { ok: false; position: number; reason: string; verified: number };

/**
 * Verifies an export file offline: the chain inside it, every event hash and signature
 * (unless `fast`), and the Merkle root against the signed checkpoint of its last line.
 */
export async function verifyExportFile(path: string, options: { publicKeys?: string[]; fast?: boolean; progress?: boolean } = {}): Promise<ExportReport> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let header: ExportHeader | undefined;
  let verifier: ReturnType<typeof createRangeVerifier> | undefined;
  let pending: string | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let pinned = false;
  const failAt = (position: number, reason: string): ExportReport => ({ ok: false, position, reason, verified: verifier ? verifier.size - (header!.from - 1) : 0 });
  let lineNumber = 0;
  /** Parses line `lineNumber` (1-based), naming it and the position it should hold when it is not JSON. */
  const parseLine = (text: string, number: number, position: number): unknown => {
    try {
      return parseStrictJson(text);
    } catch (error) {
      throw new ExportLineError(position, `line ${number} (position ${position}) is not valid JSON: ${(error as Error).message}`);
    }
  };
  try {
    for await (const line of lines) {
      lineNumber++;
      if (header === undefined) {
        header = parseLine(line, 1, 0) as ExportHeader;
        const shape = exactMembers(header, ["format", "from", "to", "frontier", "publicKeys"]);
        if (shape) return failAt(0, `export header ${shape}`);
        if ((header.format as string) !== EXPORT_FORMAT) return failAt(0, "not an annal-export/v1 file");
        if (!Number.isSafeInteger(header.from) || !Number.isSafeInteger(header.to) || header.from < 1 || header.to < header.from || !Array.isArray(header.frontier) || !Array.isArray(header.publicKeys)) {
          return failAt(0, "export header: from and to must be integers with 1 <= from <= to, frontier and publicKeys arrays");
        }
        const keys = trustedKeys(header, options.publicKeys);
        if ("error" in keys) return failAt(0, keys.error);
        pinned = keys.pinned;
        verifier = createRangeVerifier({ from: header.from, frontier: header.frontier }, keys.keys, { verifySignature: createNodeVerifier(), skipSignature: options.fast ?? false });
        if (options.progress) {
          bar = new cliProgress.SingleBar({ format: "verify [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(header.to - header.from + 1, 0);
        }
        continue;
      }
      // Each line is a record until the last, which is the trailer: hold one line back.
      if (pending !== undefined) {
        // Line k holds position from + k - 2 (line 1 is the header).
        const verdict = verifier!.push(parseLine(pending, lineNumber - 1, header.from + lineNumber - 3) as EventRecord);
        if (!verdict.ok) return failAt(verdict.position, verdict.reason);
        if (verifier!.size % 1000 === 0) bar?.update(verifier!.size - header.from + 1);
      }
      pending = line;
    }
  } catch (error) {
    if (error instanceof ExportLineError) return failAt(error.position, error.message);
    throw error;
  } finally {
    bar?.stop();
  }
  if (!header || !verifier || pending === undefined) return failAt(0, "file is empty or has no trailer");
  let trailer: ExportTrailer;
  try {
    trailer = parseLine(pending, lineNumber, header.to) as ExportTrailer;
  } catch (error) {
    // A cut file: its last line is a record cut short, or a trailer cut short.
    if (error instanceof ExportLineError) return failAt(Math.min(verifier.size + 1, header.to), error.message);
    throw error;
  }
  const trailerShape = exactMembers(trailer, ["checkpoint", "consistencyProof"]) ?? exactMembers(trailer.checkpoint, ["treeSize", "rootHash", "note"]);
  if (trailerShape) return failAt(verifier.size + 1 > header.to ? header.to : verifier.size + 1, `export trailer (line ${lineNumber}) ${trailerShape}`);
  if (verifier.size !== header.to) return failAt(verifier.size + 1, `file ends at position ${verifier.size}, its header says ${header.to}`);
  const verdict = verifier.finish(trailer.checkpoint ?? { note: "" }, trailer.consistencyProof ?? []);
  if (!verdict.ok) return failAt(verdict.position, verdict.reason);
  // Report the size the signed note states, not the trailer's unsigned copy of it.
  const signed = parseCheckpointBody(parseNote(trailer.checkpoint.note)!.text)!;
  return { ok: true, from: header.from, to: header.to, checkpoint: signed.treeSize, root: toBase64(verifier.root()), pinned };
}

function trustedKeys(header: ExportHeader, pinned: string[] | undefined): { keys: TrustedKey[]; pinned: boolean } | { error: string } {
  const keys: TrustedKey[] = [];
  if (pinned && pinned.length > 0) {
    for (const text of pinned) {
      const key = parseTrustedKey(text);
      if ("error" in key) return { error: `public key ${text}: ${key.error}` };
      keys.push(key);
    }
  } else {
    // The file's own keys, with their windows (GET /keys at export time).
    for (const k of header.publicKeys ?? []) {
      const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition !== undefined ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition !== undefined ? { toPosition: k.toPosition } : {}) });
      if ("error" in key) return { error: `public key ${k.noteVerifierKey}: ${key.error}` };
      keys.push(key);
    }
  }
  if (keys.length === 0) return { error: "no public key: pass --public-key" };
  return { keys, pinned: Boolean(pinned && pinned.length > 0) };
}

class ExportLineError extends Error {
  constructor(
    readonly position: number,
    message: string,
  ) {
    super(message);
  }
}

/** Why `value` is not an object with exactly `members`, or undefined when it is. */
function exactMembers(value: unknown, members: readonly string[]): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const extra = Object.keys(value).filter((k) => !members.includes(k));
  if (extra.length > 0) return `has members section 13 does not list: ${extra.join(", ")}`;
  const missing = members.filter((m) => !(m in value));
  if (missing.length > 0) return `lacks ${missing.join(", ")}`;
  return undefined;
}
