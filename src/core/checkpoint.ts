import { fromBase64, toBase64 } from "./bytes.js";

// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) body:
//   <origin>\n<tree size, decimal>\n<root hash, base64>\n[extension lines]
// Annal adds one extension line naming the hash of the last event (the chain head), so a
// checkpoint commits to both the Merkle tree and the hash chain.

export const CHAIN_HEAD_EXTENSION = "annal-chain-head";

export interface Checkpoint {
  origin: string;
  treeSize: number;
  /** base64 of the 32-byte RFC 9162 root. */
  rootHash: string;
  /** base64 of the hash of the event at position treeSize; absent for the empty tree. */
  chainHead?: string;
}

export function formatCheckpointBody(cp: Checkpoint): string {
  if (!Number.isSafeInteger(cp.treeSize) || cp.treeSize < 0) throw new RangeError("treeSize must be a safe non-negative integer");
  if (!cp.origin || /[\n\s]/u.test(cp.origin.trim()) || cp.origin !== cp.origin.trim()) throw new RangeError("origin must be one non-empty line without spaces");
  const head = cp.chainHead === undefined ? "" : `${CHAIN_HEAD_EXTENSION} ${cp.chainHead}\n`;
  return `${cp.origin}\n${cp.treeSize}\n${cp.rootHash}\n${head}`;
}

/** Parses a checkpoint body (the note text); undefined when it is not one. */
export function parseCheckpointBody(text: string): Checkpoint | undefined {
  if (!text.endsWith("\n")) return undefined;
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) return undefined;
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin || !/^(0|[1-9]\d*)$/.test(sizeText)) return undefined;
  const treeSize = Number(sizeText);
  if (!Number.isSafeInteger(treeSize) || fromBase64(rootText)?.length !== 32) return undefined;
  const cp: Checkpoint = { origin, treeSize, rootHash: rootText };
  for (const line of extensions) {
    if (line === "") return undefined;
    if (line.startsWith(`${CHAIN_HEAD_EXTENSION} `)) {
      const value = line.slice(CHAIN_HEAD_EXTENSION.length + 1);
      if (cp.chainHead !== undefined || fromBase64(value)?.length !== 32) return undefined;
      cp.chainHead = value;
    }
  }
  return cp;
}

export { toBase64 };
