import { decodeHash, parseCheckpointBody, parseNote, type Checkpoint } from "../core/index.js";

// C2SP tlog-witness (https://c2sp.org/tlog-witness) add-checkpoint request body:
//   old <size>\n  <base64 hash>\n * (0..63)  \n  <signed checkpoint note>

/** At most 63 proof lines (the spec's limit): a consistency proof of any 2^63 tree fits. */
export const MAX_PROOF_LINES = 63;
export const TLOG_SIZE_CONTENT_TYPE = "text/x.tlog.size";

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  note: string;
  /** The note's body (up to the blank line), what the log signed and we cosign. */
  body: string;
  checkpoint: Checkpoint;
}

export function formatAddCheckpointBody(oldSize: number, proof: readonly string[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => `${p}\n`).join("")}\n${note}`;
}

/** Parses an add-checkpoint body; a string saying what is wrong when it is malformed. */
export function parseAddCheckpointBody(text: string): AddCheckpointRequest | string {
  const blank = text.indexOf("\n\n");
  if (blank < 0) return "body has no blank line between the proof and the checkpoint";
  const head = text.slice(0, blank).split("\n");
  const note = text.slice(blank + 2);
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0] ?? "");
  if (!old) return "first line must be `old <size>` (decimal, no leading zeroes)";
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize)) return "old size is out of range";
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) return `more than ${MAX_PROOF_LINES} proof lines`;
  const proof: Uint8Array[] = [];
  for (const line of lines) {
    const hash = decodeHash(line);
    if (!hash) return "proof lines must be 32-byte hashes in base64";
    proof.push(hash);
  }
  const parsed = parseNote(note);
  if (!parsed) return "checkpoint is not a signed note";
  const checkpoint = parseCheckpointBody(parsed.text);
  if (!checkpoint) return "note body is not a checkpoint";
  return { oldSize, proof, note, body: parsed.text, checkpoint };
}
