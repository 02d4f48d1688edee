import { findNoteSignature, parseCheckpointBody, parseNote, strictVerifier, utf8, verifyEd25519, type Checkpoint, type SignatureVerifier } from "../core/index.js";
import { ERR_KEY_OUTSIDE_WINDOW } from "./key-windows.js";
import { windowContains, type TrustedKey } from "./keys.js";
import { fail } from "./result.js";

export interface CheckpointCheckOptions {
  /** The origin the auditor expects (the log's identity); any origin when absent. */
  origin?: string;
  verifySignature?: SignatureVerifier;
}

export type CheckpointResult = { ok: true; checkpoint: Checkpoint; body: string } | { ok: false; reason: string; code?: string };

/**
 * Verifies a C2SP signed note holding an Annal checkpoint: it parses, its body is a
 * tlog-checkpoint, and one signature line is a valid Ed25519 signature by a trusted key
 * under the key's name (the origin, for a raw key). Other signature lines (witness
 * cosignatures, other keys) are ignored, as C2SP requires.
 */
export function verifyCheckpointNote(note: string, keys: TrustedKey | readonly TrustedKey[], options: CheckpointCheckOptions = {}): CheckpointResult {
  if (typeof note !== "string") return fail("checkpoint note is not a string");
  const parsed = parseNote(note);
  if (!parsed) return fail("checkpoint note is malformed");
  const checkpoint = parseCheckpointBody(parsed.text);
  if (!checkpoint) return fail("checkpoint body is not a tlog-checkpoint");
  if (options.origin !== undefined && checkpoint.origin !== options.origin) return fail(`checkpoint origin ${checkpoint.origin}, expected ${options.origin}`);
  const verify = options.verifySignature ? strictVerifier(options.verifySignature) : verifyEd25519;
  const text = utf8(parsed.text);
  const all = Array.isArray(keys) ? (keys as readonly TrustedKey[]) : [keys as TrustedKey];
  // A key with a window signs the checkpoints whose last event is inside it; the previous
  // key's extra signature during an overlap is for verifiers that do not follow keys.
  const trusted = all.filter((key) => windowContains(key, Math.max(checkpoint.treeSize, 1)));
  const signed = trusted.some((key) => {
    // A named key signs only its own log: Annal's key name is the origin (section 8).
    if (key.name !== undefined && key.name !== checkpoint.origin) return false;
    const signature = findNoteSignature(parsed, key.name ?? checkpoint.origin, key.publicKey);
    return signature !== undefined && verify(key.publicKey, text, signature.signature);
  });
  if (!signed) {
    if (trusted.length < all.length) return fail(`checkpoint of tree size ${checkpoint.treeSize} has no valid signature by the key in force at position ${checkpoint.treeSize}`, ERR_KEY_OUTSIDE_WINDOW);
    return fail(`checkpoint has no valid signature by a trusted key for origin ${checkpoint.origin}`);
  }
  return { ok: true, checkpoint, body: parsed.text };
}
