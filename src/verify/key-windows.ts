import {
  equalBytes,
  fromBase64,
  keyIdOf,
  KEY_ROTATED_TYPE,
  keyRotationStatementBytes,
  KEYS_STREAM,
  parseKeyRotatedData,
  parseVerifierKey,
  strictVerifier,
  verifyEd25519,
  type EventRecord,
  type SignatureVerifier,
} from "../core/index.js";
import { windowContains, type TrustedKey } from "./keys.js";
import { fail } from "./result.js";

// The rule every verifier applies (docs/verification.md, "How a verifier follows keys"):
// the event at position p MUST be signed by the one key whose window contains p. The first
// key's window starts at the first position; a KeyRotated event at position r, signed by
// the key in force and carrying the new key's signature over the rotation statement,
// closes that window at r and opens the new key's at r + 1. A checkpoint of tree size n is
// signed by the key in force at n (during an overlap the previous key signs it as well,
// for verifiers that do not follow keys yet; those signatures are extra, never required).

/** A key signed events outside its window (or the log contradicts the published window). */
export const ERR_KEY_OUTSIDE_WINDOW = "ERR_KEY_OUTSIDE_WINDOW";
/** The event names a key the verifier neither trusts nor derived from a verified rotation. */
export const ERR_KEY_NOT_TRUSTED = "ERR_KEY_NOT_TRUSTED";
/** A KeyRotated event that does not verify: it cannot open a window. */
export const ERR_KEY_ROTATION_INVALID = "ERR_KEY_ROTATION_INVALID";

export type KeyRefusal = { ok: false; reason: string; code: string };

/** A key with a known start; `toPosition` absent while it is in force. */
export interface KeyWindow extends TrustedKey {
  fromPosition: number;
}

const refuse = (reason: string, code: string): KeyRefusal => fail(reason, code) as KeyRefusal;

function describe(key: TrustedKey): string {
  if (key.fromPosition === undefined) return `key ${key.keyId}`;
  return `key ${key.keyId} (window ${key.fromPosition}..${key.toPosition ?? ""})`;
}

/** The key whose window contains `position`, among keys with windows. */
export function keyInForce(keys: readonly TrustedKey[], position: number): TrustedKey | undefined {
  return keys.find((k) => k.fromPosition !== undefined && windowContains(k, position));
}

/**
 * The stateless check (receipts, bundles, consumers that see events out of order): the
 * key named by an event at `position` is trusted and its window, if known, contains the
 * position; a key without a window is refused where another trusted key's window says
 * it is in force.
 */
export function checkEventKey(keys: readonly TrustedKey[], position: number, keyId: string): { ok: true; key: TrustedKey } | KeyRefusal {
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) return refuse(`position ${position} is signed by key ${keyId}, which is not trusted`, ERR_KEY_NOT_TRUSTED);
  const inForce = keyInForce(keys, position);
  if (!windowContains(key, position) || (inForce !== undefined && inForce.keyId !== keyId)) {
    const other = inForce && inForce.keyId !== keyId ? `; ${describe(inForce)} is in force there` : "";
    return refuse(`position ${position} is signed by ${describe(key)}, outside its window${other}`, ERR_KEY_OUTSIDE_WINDOW);
  }
  return { ok: true, key };
}

export interface RotationCheckOptions {
  verifySignature?: SignatureVerifier;
  /** The log's origin, when the verifier knows it. */
  origin?: string;
}

/**
 * Verifies a KeyRotated event at `record.position` against the key in force there (which
 * MUST already have been checked to sign it): the statement names that key as previous,
 * starts the new window at the next position, names the new key consistently (key id,
 * raw key, note verifier key under the origin) and carries the new key's valid signature.
 * Returns the new key's window.
 */
export function verifyKeyRotation(record: EventRecord, inForce: TrustedKey, options: RotationCheckOptions = {}): { ok: true; next: KeyWindow } | KeyRefusal {
  const at = `KeyRotated at position ${record.position}`;
  const bad = (why: string) => refuse(`${at}: ${why}`, ERR_KEY_ROTATION_INVALID);
  if (record.data === undefined) return bad("its data is absent (redacted), so the new key cannot be followed");
  const data = parseKeyRotatedData(record.data);
  if ("error" in data) return bad(data.error);
  if (data.previousKeyId !== inForce.keyId) return bad(`names previous key ${data.previousKeyId}, but key ${inForce.keyId} is in force`);
  if (data.fromPosition !== record.position + 1) return bad(`fromPosition ${data.fromPosition}, expected ${record.position + 1}`);
  if (options.origin !== undefined && data.origin !== options.origin) return bad(`origin ${data.origin}, expected ${options.origin}`);
  if (inForce.name !== undefined && data.origin !== inForce.name) return bad(`origin ${data.origin} is not the previous key's name ${inForce.name}`);
  const publicKey = fromBase64(data.newPublicKey);
  if (publicKey?.length !== 32) return bad("newPublicKey is not 32 bytes of base64");
  if (keyIdOf(publicKey) !== data.newKeyId) return bad(`newKeyId ${data.newKeyId} is not the id of newPublicKey`);
  if (data.newKeyId === inForce.keyId) return bad("the new key is the key in force");
  const note = parseVerifierKey(data.newNoteVerifierKey);
  if (!note || note.name !== data.origin || !equalBytes(note.publicKey, publicKey)) return bad("newNoteVerifierKey does not name newPublicKey under the origin");
  let statement: Uint8Array;
  try {
    statement = keyRotationStatementBytes(data);
  } catch (error) {
    return bad((error as Error).message);
  }
  const signature = fromBase64(data.newKeySignature);
  const verify = options.verifySignature ? strictVerifier(options.verifySignature) : verifyEd25519;
  if (signature?.length !== 64 || !verify(publicKey, statement, signature)) return bad("newKeySignature does not verify with the new key");
  return { ok: true, next: { name: data.origin, publicKey, keyId: data.newKeyId, fromPosition: data.fromPosition } };
}

export function isKeyRotation(record: Pick<EventRecord, "streamId" | "type">): boolean {
  return record.streamId === KEYS_STREAM && record.type === KEY_ROTATED_TYPE;
}

export interface KeyFollower {
  /**
   * Checks the next event (positions in order, no gaps) is signed by the key in force at
   * its position, and follows a KeyRotated event to the next key. Returns the key to
   * verify the event's signature with. The caller still checks hashes and signature; a
   * failure there is at this same position, so any refusal stops verification.
   */
  resolve(record: EventRecord): { ok: true; key: TrustedKey } | KeyRefusal;
  /** The key in force at `position`, as followed so far (checkpoints of size n: keyAt(n)). */
  keyAt(position: number): KeyWindow | undefined;
  /** Every window followed so far, in order. */
  readonly windows: readonly KeyWindow[];
}

/**
 * Follows keys along the log from its first verified event. `trusted` are keys obtained
 * out of band: a key without a window is accepted as the first key if it signs the first
 * event seen; keys with windows (GET /keys) must agree with what the log says. Keys after
 * the first need not be trusted: each is derived from a verified KeyRotated event.
 *
 * @example
 *   const follower = createKeyFollower([pinnedFirstKey]);
 *   for (const record of log) {
 *     const key = follower.resolve(record);
 *     if (!key.ok) throw new Error(`${key.code}: ${key.reason}`);
 *     // verify record.signature over record.hash with key.key.publicKey
 *   }
 */
export function createKeyFollower(trusted: readonly TrustedKey[], options: RotationCheckOptions = {}): KeyFollower {
  const windows: KeyWindow[] = [];
  const published = trusted.filter((k) => k.fromPosition !== undefined);

  function resolve(record: EventRecord): { ok: true; key: TrustedKey } | KeyRefusal {
    const position = record.position;
    let current = windows.at(-1);
    if (current === undefined) {
      // The first event seen: a published window that holds it, else a trusted key it names.
      const start = keyInForce(published, position) ?? trusted.find((k) => k.fromPosition === undefined && k.keyId === record.keyId);
      if (!start) {
        const named = trusted.find((k) => k.keyId === record.keyId);
        return named
          ? refuse(`position ${position} is signed by ${describe(named)}, outside its window`, ERR_KEY_OUTSIDE_WINDOW)
          : refuse(`position ${position} is signed by key ${record.keyId}, which is not trusted`, ERR_KEY_NOT_TRUSTED);
      }
      current = { name: start.name, publicKey: start.publicKey, keyId: start.keyId, fromPosition: start.fromPosition ?? position };
      windows.push(current);
    }
    if (record.keyId !== current.keyId) {
      const known = windows.find((w) => w.keyId === record.keyId) ?? trusted.find((k) => k.keyId === record.keyId);
      const what = known ? describe(known) : `key ${record.keyId}`;
      return refuse(`position ${position} is signed by ${what}, but key ${current.keyId} is in force from position ${current.fromPosition}`, known ? ERR_KEY_OUTSIDE_WINDOW : ERR_KEY_NOT_TRUSTED);
    }
    // The log must agree with the windows the verifier was given.
    const claimed = published.find((k) => k.keyId === current.keyId);
    if (claimed && !windowContains(claimed, position)) return refuse(`position ${position} is signed by ${describe(claimed)}, outside its published window`, ERR_KEY_OUTSIDE_WINDOW);
    if (isKeyRotation(record)) {
      const rotation = verifyKeyRotation(record, current, options);
      if (!rotation.ok) return rotation;
      const next = rotation.next;
      if (windows.some((w) => w.keyId === next.keyId)) return refuse(`KeyRotated at position ${position}: key ${next.keyId} was in force before and may not return`, ERR_KEY_ROTATION_INVALID);
      const claimedNext = published.find((k) => k.keyId === next.keyId);
      if (claimedNext && claimedNext.fromPosition !== next.fromPosition) {
        return refuse(`KeyRotated at position ${position} opens key ${next.keyId} at ${next.fromPosition}, its published window starts at ${claimedNext.fromPosition}`, ERR_KEY_OUTSIDE_WINDOW);
      }
      current.toPosition = position;
      windows.push(next);
    }
    return { ok: true, key: current };
  }

  return {
    resolve,
    keyAt: (position) => windows.find((w) => windowContains(w, position)) ?? (position === 0 ? windows[0] : undefined),
    get windows() {
      return windows;
    },
  };
}
