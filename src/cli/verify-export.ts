import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import cliProgress from "cli-progress";
import { parseCheckpointBody, parseNote, parseStrictJson, toBase64, type EventRecord } from "../core/index.js";
import { createRangeVerifier, parseTrustedKey, type TrustedKey } from "../verify/index.js";
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
  try {
    for await (const line of lines) {
      if (header === undefined) {
        header = parseStrictJson(line) as ExportHeader;
        if ((header.format as string) !== EXPORT_FORMAT) return failAt(0, "not an annal-export/v1 file");
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
        const verdict = verifier!.push(parseStrictJson(pending) as EventRecord);
        if (!verdict.ok) return failAt(verdict.position, verdict.reason);
        if (verifier!.size % 1000 === 0) bar?.update(verifier!.size - header.from + 1);
      }
      pending = line;
    }
  } finally {
    bar?.stop();
  }
  if (!header || !verifier || pending === undefined) return failAt(0, "file is empty or has no trailer");
  const trailer = parseStrictJson(pending) as ExportTrailer;
  if (verifier.size !== header.to) return failAt(verifier.size + 1, `file ends at position ${verifier.size}, its header says ${header.to}`);
  const verdict = verifier.finish(trailer.checkpoint ?? { note: "" }, trailer.consistencyProof ?? []);
  if (!verdict.ok) return failAt(verdict.position, verdict.reason);
  // Report the size the signed note states, not the trailer's unsigned copy of it.
  const signed = parseCheckpointBody(parseNote(trailer.checkpoint.note)!.text)!;
  return { ok: true, from: header.from, to: header.to, checkpoint: signed.treeSize, root: toBase64(verifier.root()), pinned };
}

function trustedKeys(header: ExportHeader, pinned: string[] | undefined): { keys: TrustedKey[]; pinned: boolean } | { error: string } {
  const texts = pinned && pinned.length > 0 ? pinned : (header.publicKeys ?? []).map((k) => k.noteVerifierKey);
  const keys: TrustedKey[] = [];
  for (const text of texts) {
    const key = parseTrustedKey(text);
    if ("error" in key) return { error: `public key ${text}: ${key.error}` };
    keys.push(key);
  }
  if (keys.length === 0) return { error: "no public key: pass --public-key" };
  return { keys, pinned: Boolean(pinned && pinned.length > 0) };
}
