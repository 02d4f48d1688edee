import { equalBytes, type EventRecord, type SignatureVerifier } from "../core/index.js";
import { verifyCheckpointNote } from "./checkpoint.js";
import { verifyCosignature, type CosignerKey } from "./cosignature.js";
import { verifyEvent } from "./event.js";
import { parseTrustedKey, resolveTrustedKey, type TrustedKey, type TrustedKeyInput } from "./keys.js";
import { verifyInclusion } from "./proofs.js";
import { fail, OK, type VerifyResult } from "./result.js";

export const RECEIPT_FORMAT = "annal-receipt/v1" as const;

/**
 * A receipt that stands alone: one event, its inclusion proof, and the signed checkpoint
 * the proof leads to. With the ledger's public key, and nothing else, anyone can check
 * that the ledger signed this exact event and committed to it in that checkpoint.
 */
export interface EventReceipt {
  format: typeof RECEIPT_FORMAT;
  event: EventRecord;
  inclusionProof: { leafIndex: number; treeSize: number; auditPath: string[] };
  checkpoint: { treeSize: number; rootHash: string; note: string };
  /** The ledger's C2SP verifier key, as a hint. Never trusted: it must equal the key given. */
  publicKey?: string;
}

export interface ReceiptCheckOptions {
  origin?: string;
  verifySignature?: SignatureVerifier;
  /**
   * Witnesses the verifier trusts and how many of them must have cosigned the receipt's
   * checkpoint (C2SP tlog-cosignature). Cosignatures defend against a log that shows
   * different histories to different parties; without them a receipt proves only what
   * the log itself signed.
   */
  witnesses?: { keys: readonly CosignerKey[]; quorum: number };
}

function exactMembers(value: unknown, required: readonly string[], optional: readonly string[] = []): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not an object";
  const allowed = new Set([...required, ...optional]);
  for (const key of Object.keys(value)) if (!allowed.has(key)) return `has an unknown member ${key}`;
  for (const key of required) if (!(key in value)) return `lacks ${key}`;
  return undefined;
}

/**
 * Verifies a receipt offline against the ledger keys obtained out of band: one key, or
 * the set of current and retired keys (an event may be signed by a key retired since;
 * the checkpoint is signed by the key in force when it was made). Keys given with their
 * windows (GET /keys `fromPosition`/`toPosition`) are accepted only inside them
 * (docs/verification.md section 20). Keys are compared as (name, public key bytes), never
 * as text.
 *
 * @example
 *   const verdict = verifyReceipt(JSON.parse(text), { verifierKey: "ledger.example/prod+1a2b3c4d+AX..." });
 *   if (!verdict.ok) console.error(verdict.reason);
 */
export function verifyReceipt(receipt: unknown, trust: TrustedKeyInput | readonly TrustedKeyInput[], options: ReceiptCheckOptions = {}): VerifyResult {
  const keys: TrustedKey[] = [];
  for (const input of Array.isArray(trust) ? (trust as readonly TrustedKeyInput[]) : [trust as TrustedKeyInput]) {
    const key = resolveTrustedKey(input);
    if ("error" in key) return fail(`trusted key: ${key.error}`);
    keys.push(key);
  }
  if (keys.length === 0) return fail("no trusted key given");
  const shape = exactMembers(receipt, ["format", "event", "inclusionProof", "checkpoint"], ["publicKey"]);
  if (shape) return fail(`receipt ${shape}`);
  const r = receipt as EventReceipt;
  if ((r.format as string) !== RECEIPT_FORMAT) return fail(`receipt format must be annal-receipt/v1`);
  if (r.publicKey !== undefined) {
    const named = typeof r.publicKey === "string" ? parseTrustedKey(r.publicKey) : { error: "not a string" };
    if ("error" in named || !keys.some((key) => sameKey(named, key))) return fail("receipt names a public key that is not trusted");
  }

  const cpShape = exactMembers(r.checkpoint, ["treeSize", "rootHash", "note"]);
  if (cpShape) return fail(`receipt checkpoint ${cpShape}`);
  // The first trusted key whose signature the note carries and that verifies it.
  let cp = verifyCheckpointNote(r.checkpoint.note, keys[0]!, options);
  for (const key of keys.slice(1)) {
    if (cp.ok) break;
    const next = verifyCheckpointNote(r.checkpoint.note, key, options);
    if (next.ok) cp = next;
  }
  if (!cp.ok) return cp;
  if (cp.checkpoint.treeSize !== r.checkpoint.treeSize || cp.checkpoint.rootHash !== r.checkpoint.rootHash) {
    return fail("receipt checkpoint treeSize/rootHash differ from its signed note");
  }

  if (options.witnesses) {
    const { keys, quorum } = options.witnesses;
    if (!Number.isSafeInteger(quorum) || quorum < 1) return fail(`witness quorum must be a whole number of at least 1, not ${quorum}`);
    // A witness listed twice is still one witness: count distinct keys that cosigned.
    const distinct = keys.filter((w, i) => keys.findIndex((o) => o.name === w.name && equalBytes(o.publicKey, w.publicKey)) === i);
    const cosigned = distinct.filter((w) => verifyCosignature(r.checkpoint.note, w, options).ok).length;
    if (cosigned < quorum) return fail(`checkpoint has ${cosigned} valid witness cosignatures, ${quorum} required`);
  }

  const event = verifyEvent(r.event, keys, options);
  if (!event.ok) return event;

  const proofShape = exactMembers(r.inclusionProof, ["leafIndex", "treeSize", "auditPath"]);
  if (proofShape) return fail(`receipt inclusionProof ${proofShape}`);
  const proof = r.inclusionProof;
  if (proof.leafIndex !== r.event.position - 1) return fail(`inclusion proof is for leaf ${proof.leafIndex}, the event's leaf is ${r.event.position - 1}`);
  if (proof.treeSize !== cp.checkpoint.treeSize) return fail(`inclusion proof is for tree size ${proof.treeSize}, the checkpoint's is ${cp.checkpoint.treeSize}`);
  const included = verifyInclusion({ eventHash: r.event.hash, leafIndex: proof.leafIndex, treeSize: proof.treeSize, auditPath: proof.auditPath, rootHash: cp.checkpoint.rootHash });
  if (!included.ok) return included;
  // When the checkpoint ends at this event, its chain-head line names it too.
  if (cp.checkpoint.treeSize === r.event.position && cp.checkpoint.chainHead !== r.event.hash) return fail("checkpoint chain head is not this event");
  return OK;
}

function sameKey(a: TrustedKey, b: TrustedKey): boolean {
  return equalBytes(a.publicKey, b.publicKey) && (a.name === undefined || b.name === undefined || a.name === b.name);
}
