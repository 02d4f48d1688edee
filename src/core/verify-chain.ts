import { equalBytes, fromBase64, toBase64 } from "./bytes.js";
import { parseCheckpointBody } from "./checkpoint.js";
import { canonicalJsonUnchecked } from "./canonical-json.js";
import { dataHashInput, decodeHash, eventHashInput, headerOf, type EventRecord, type StoredCanonical } from "./event-record.js";
import type { SignatureVerifier } from "./ed25519.js";
import { sha256, ZERO_HASH, type Sha256 } from "./hash.js";
import { createMerkleAccumulator, merkleHashers } from "./merkle.js";
import { findNoteSignature, parseNote } from "./signed-note.js";

export type Verdict = { ok: true } | { ok: false; position: number; reason: string };

export interface ChainVerifierOptions {
  /** Ed25519 public keys by key id. */
  publicKeys: ReadonlyMap<string, Uint8Array>;
  verifySignature: SignatureVerifier;
  /** Skip per-event signatures (the "fast" mode: chain, hashes and checkpoints only). */
  skipEventSignatures?: boolean;
  /** SHA-256 implementation; the core's pure one by default, a native one in Node. */
  hash?: Sha256;
}

export interface CheckpointKey {
  /** The note key name; undefined for a raw key, whose name is taken to be the origin. */
  name: string | undefined;
  publicKey: Uint8Array;
}

/**
 * Verifies a run of consecutive events from position 1: every data hash (unless
 * redacted), event hash, global and per-stream link, signature, and the Merkle root of
 * any checkpoint whose size has been reached. The first failure is sticky and names the
 * position, so a caller can stop at once.
 *
 * @example
 *   const v = createChainVerifier({ publicKeys, verifySignature: verifyEd25519 });
 *   for (const r of records) { const verdict = v.push(r); if (!verdict.ok) break; }
 */
export function createChainVerifier(options: ChainVerifierOptions) {
  let expectedPosition = 1;
  let prevHash: Uint8Array = ZERO_HASH;
  const streams = new Map<string, { version: number; hash: Uint8Array }>();
  const hash256 = options.hash ?? sha256;
  const tree = createMerkleAccumulator(undefined, undefined, hash256);
  const leafOf = merkleHashers(hash256).leaf;
  let failure: Verdict | undefined;

  const fail = (position: number, reason: string): Verdict => (failure = { ok: false, position, reason });

  function push(record: EventRecord, stored?: StoredCanonical): Verdict {
    if (failure) return failure;
    const position = record.position;
    if (position !== expectedPosition) {
      return fail(expectedPosition, position < expectedPosition ? `position ${position} repeated or out of order` : `position ${expectedPosition} is missing (next seen: ${position})`);
    }
    const hash = decodeHash(record.hash);
    if (!hash) return fail(position, "hash is not 32 bytes of base64");
    // Present data is always checked; absent data (a redaction) leaves dataHash unchecked
    // but still bound by the event hash. A salt without data is no served form.
    if (record.data === undefined && stored?.data === undefined && record.dataSalt !== undefined) return fail(position, "dataSalt without data");
    if (record.data !== undefined || stored?.data !== undefined) {
      const salt = record.dataSalt === undefined ? undefined : fromBase64(record.dataSalt);
      if (!salt) return fail(position, "data salt missing or malformed");
      let dataHash: Uint8Array;
      try {
        dataHash = hash256(...dataHashInput(salt, stored?.data ?? canonicalJsonUnchecked(record.data)));
      } catch (error) {
        return fail(position, `data cannot be canonicalised: ${(error as Error).message}`);
      }
      if (toBase64(dataHash) !== record.dataHash) return fail(position, "data does not match dataHash");
    }
    let computed: Uint8Array;
    try {
      computed = hash256(...eventHashInput(headerOf(record), stored?.metadata));
    } catch (error) {
      return fail(position, `header cannot be canonicalised: ${(error as Error).message}`);
    }
    if (!equalBytes(computed, hash)) return fail(position, "event hash does not match its header");
    const prev = decodeHash(record.prevHash);
    if (!prev || !equalBytes(prev, prevHash)) return fail(position, "prevHash does not link to the previous event");
    const stream = streams.get(record.streamId);
    const expectedVersion = (stream?.version ?? 0) + 1;
    if (record.streamVersion !== expectedVersion) return fail(position, `stream ${record.streamId} version ${record.streamVersion}, expected ${expectedVersion}`);
    const streamPrev = decodeHash(record.streamPrevHash);
    if (!streamPrev || !equalBytes(streamPrev, stream?.hash ?? ZERO_HASH)) return fail(position, `streamPrevHash does not link to the previous event of stream ${record.streamId}`);
    if (!options.skipEventSignatures) {
      const key = options.publicKeys.get(record.keyId);
      if (!key) return fail(position, `unknown key id ${record.keyId}`);
      const signature = fromBase64(record.signature);
      if (!signature || !options.verifySignature(key, hash, signature)) return fail(position, "signature does not verify");
    }
    streams.set(record.streamId, { version: record.streamVersion, hash });
    prevHash = hash;
    tree.append(leafOf(hash));
    expectedPosition++;
    return { ok: true };
  }

  /** Checks a signed checkpoint note against the events pushed so far (size must match). */
  function checkCheckpoint(note: string, key: CheckpointKey | readonly CheckpointKey[], origin?: string): Verdict {
    if (failure) return failure;
    const verdict = checkCheckpointNote(note, { keys: key, origin, size: tree.size, root: () => tree.root(), chainHead: prevHash, verifySignature: options.verifySignature });
    return verdict.ok ? verdict : (failure = verdict);
  }

  return {
    push,
    checkCheckpoint,
    get size() {
      return tree.size;
    },
    root: () => tree.root(),
    get failure() {
      return failure;
    },
  };
}

export type ChainVerifier = ReturnType<typeof createChainVerifier>;

export interface CheckpointState {
  /** The trusted checkpoint keys; any one suffices (keys rotate). */
  keys: CheckpointKey | readonly CheckpointKey[];
  /** The origin to expect, if any. */
  origin?: string | undefined;
  /** Events verified so far. */
  size: number;
  /** The Merkle root of those events (computed only once the note's signature and size check out). */
  root: () => Uint8Array;
  /** The hash of the last of them (the zero hash for none). */
  chainHead: Uint8Array;
  verifySignature: SignatureVerifier;
}

/**
 * Checks a signed checkpoint note against a verified prefix of the log: its signature
 * by a trusted key first, then its size, root and chain head (docs/verification.md
 * section 9, step 3). Shared by the sequential verifier and `annal verify`'s parallel
 * ranges, so both name the same position and reason.
 */
export function checkCheckpointNote(note: string, state: CheckpointState): Verdict {
  const { size } = state;
  const fail = (position: number, reason: string): Verdict => ({ ok: false, position, reason });
  const parsed = parseNote(note);
  const body = parsed && parseCheckpointBody(parsed.text);
  if (!parsed || !body) return fail(size, `checkpoint at tree size ${size}: note is malformed`);
  // The signature first: nothing in a body is believed before it verifies, so a note
  // whose size line was changed is named as a bad checkpoint, not as missing events.
  // Any one trusted key suffices (keys rotate); each is looked up by name and key hash,
  // and its name must be the origin (Annal signs under the origin's name).
  const text = new TextEncoder().encode(parsed.text);
  const trusted = (Array.isArray(state.keys) ? state.keys : [state.keys]) as readonly CheckpointKey[];
  const signed = trusted.some((k) => {
    if (k.name !== undefined && k.name !== body.origin) return false;
    const sig = findNoteSignature(parsed, body.origin, k.publicKey);
    return sig !== undefined && state.verifySignature(k.publicKey, text, sig.signature);
  });
  if (!signed) return fail(size, `checkpoint at tree size ${size}: no valid signature by a trusted key under origin ${body.origin}`);
  if (state.origin !== undefined && body.origin !== state.origin) return fail(size, `checkpoint origin ${body.origin}, expected ${state.origin}`);
  // A signed checkpoint beyond the verified events means the log was cut short: name
  // the first missing position, as push() does for a gap.
  if (body.treeSize > size) return fail(size + 1, `checkpoint covers ${body.treeSize} events, position ${size + 1} is missing`);
  if (body.treeSize !== size) return fail(size, `checkpoint size ${body.treeSize} checked at size ${size}`);
  if (body.rootHash !== toBase64(state.root())) return fail(size, "checkpoint root does not match the events");
  if (size > 0 && body.chainHead !== toBase64(state.chainHead)) return fail(size, "checkpoint chain head does not match the last event");
  return { ok: true };
}
