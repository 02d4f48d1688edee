import { fromBase64, utf8 } from "./bytes.js";
import { isValidKeyName } from "./signed-note.js";

// A key rotation is one `KeyRotated` event in the system stream `annal:keys`. The event is
// signed, like every event, by the key in force (the OLD key); its data carries the NEW
// key's signature over the statement below, so both keys sign the rotation. The statement
// is plain text, one field a line, so an auditor can rebuild its bytes by hand:
//
//   annal-key-rotation/v1\n
//   origin <origin>\n
//   previous-key-id <16 hex>\n
//   new-key-id <16 hex>\n
//   new-public-key <base64 of the raw 32-byte Ed25519 key>\n
//   new-note-verifier-key <C2SP verifier key of the new key>\n
//   from-position <decimal>\n
//
// No field may contain a space or a newline (checked), so the bytes are unambiguous.

export const KEYS_STREAM = "annal:keys";
export const KEY_ROTATED_TYPE = "KeyRotated";
export const KEY_ROTATION_STATEMENT_VERSION = "annal-key-rotation/v1";

/** The statement's fields: what the new key agrees to. */
export interface KeyRotationStatement {
  origin: string;
  previousKeyId: string;
  newKeyId: string;
  /** Standard base64 (with padding) of the raw 32-byte key. */
  newPublicKey: string;
  newNoteVerifierKey: string;
  /** The first position the new key signs: the KeyRotated event's own position + 1. */
  fromPosition: number;
}

/** The data of a `KeyRotated` event: the statement plus the new key's signature of it. */
export interface KeyRotatedData extends KeyRotationStatement {
  /** Standard base64 of the new key's Ed25519 signature over keyRotationStatementBytes. */
  newKeySignature: string;
}

const KEY_ID = /^[0-9a-f]{16}$/;
const TOKEN = /^[^\s]+$/u;

/** The exact bytes the new key signs. Throws RangeError on a field that cannot be written unambiguously. */
export function keyRotationStatementBytes(s: KeyRotationStatement): Uint8Array {
  if (!isValidKeyName(s.origin)) throw new RangeError("origin must be a valid note key name");
  if (!KEY_ID.test(s.previousKeyId) || !KEY_ID.test(s.newKeyId)) throw new RangeError("key ids must be 16 lowercase hex digits");
  if (fromBase64(s.newPublicKey)?.length !== 32) throw new RangeError("newPublicKey must be base64 of 32 bytes");
  if (!TOKEN.test(s.newNoteVerifierKey)) throw new RangeError("newNoteVerifierKey must be one token");
  if (!Number.isSafeInteger(s.fromPosition) || s.fromPosition < 2) throw new RangeError("fromPosition must be an integer >= 2");
  return utf8(
    `${KEY_ROTATION_STATEMENT_VERSION}\norigin ${s.origin}\nprevious-key-id ${s.previousKeyId}\nnew-key-id ${s.newKeyId}\n` +
      `new-public-key ${s.newPublicKey}\nnew-note-verifier-key ${s.newNoteVerifierKey}\nfrom-position ${s.fromPosition}\n`,
  );
}

const MEMBERS = ["origin", "previousKeyId", "newKeyId", "newPublicKey", "newNoteVerifierKey", "fromPosition", "newKeySignature"] as const;

/** The data of a KeyRotated event if it has exactly the expected members and types; else why not. */
export function parseKeyRotatedData(data: unknown): KeyRotatedData | { error: string } {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { error: "KeyRotated data is not an object" };
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!(MEMBERS as readonly string[]).includes(key)) return { error: `KeyRotated data has an unknown member ${key}` };
  for (const key of MEMBERS) {
    if (key === "fromPosition") {
      if (typeof record[key] !== "number") return { error: "KeyRotated fromPosition must be a number" };
    } else if (typeof record[key] !== "string") return { error: `KeyRotated ${key} must be a string` };
  }
  return record as unknown as KeyRotatedData;
}
