import { computeDataHash, computeEventHash, decodeHash, equalBytes, fromBase64, strictVerifier, toBase64, verifyEd25519, type EventRecord, type SignatureVerifier } from "../core/index.js";
import { checkEventKey } from "./key-windows.js";
import type { TrustedKey } from "./keys.js";
import { fail, OK, type VerifyResult } from "./result.js";

export interface EventCheckOptions {
  /** Defaults to the pure-JS strict verifier (S < L, no ZIP-215), so it runs in browsers. */
  verifySignature?: SignatureVerifier;
  /** Skip the signature (the "fast" mode: a checkpoint signature covers the hashes). */
  skipSignature?: boolean;
}

const HEADER_STRINGS = ["streamId", "eventId", "type", "recordedAt", "dataHash", "prevHash", "streamPrevHash", "keyId", "hash", "signature"] as const;
const RECORD_MEMBERS = new Set<string>([...HEADER_STRINGS, "position", "streamVersion", "metadata", "data", "dataSalt"]);

/**
 * Checks that `value` has the exact shape of an event record: the known members with
 * their types, nothing else, and `data` with `dataSalt` both present or both absent
 * (redacted). An unknown member is refused: nothing unhashed rides along with a record,
 * so one signed event has one served form (docs/verification.md section 3).
 */
export function checkEventShape(value: unknown): VerifyResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("event is not an object");
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!RECORD_MEMBERS.has(key)) return fail(`event has an unknown member ${key}`);
  for (const key of HEADER_STRINGS) if (typeof record[key] !== "string") return fail(`event ${key} must be a string`);
  for (const key of ["position", "streamVersion"] as const) {
    const n = record[key];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) return fail(`event ${key} must be a positive safe integer`);
  }
  if (typeof record.metadata !== "object" || record.metadata === null || Array.isArray(record.metadata)) return fail("event metadata must be an object");
  const hasData = "data" in record;
  if (hasData !== ("dataSalt" in record)) return fail("event data and dataSalt must be present together");
  return OK;
}

/**
 * Verifies one event on its own: its shape, dataHash (when the payload is present),
 * the event hash over the canonical header, and the Ed25519 signature by a trusted key
 * whose key id the event names and whose window (when known) contains its position. It cannot check chain links; see createChainVerifier.
 */
export function verifyEvent(record: EventRecord, keys: TrustedKey | readonly TrustedKey[], options: EventCheckOptions = {}): VerifyResult {
  const shape = checkEventShape(record);
  if (!shape.ok) return shape;
  const hash = decodeHash(record.hash);
  if (!hash) return fail("event hash is not 32 bytes of base64");
  for (const name of ["dataHash", "prevHash", "streamPrevHash"] as const) {
    if (!decodeHash(record[name])) return fail(`event ${name} is not 32 bytes of base64`);
  }
  if (record.data !== undefined) {
    const salt = fromBase64(record.dataSalt ?? "");
    if (salt?.length !== 32) return fail("event dataSalt is not 32 bytes of base64");
    let dataHash: Uint8Array;
    try {
      dataHash = computeDataHash(salt, record.data);
    } catch (error) {
      return fail(`event data cannot be canonicalised: ${(error as Error).message}`);
    }
    if (toBase64(dataHash) !== record.dataHash) return fail("event data does not match dataHash");
  }
  let computed: Uint8Array;
  try {
    computed = computeEventHash(record);
  } catch (error) {
    return fail(`event header cannot be canonicalised: ${(error as Error).message}`);
  }
  if (!equalBytes(computed, hash)) return fail("event hash does not match its header");
  if (options.skipSignature) return OK;
  // The key must be trusted and, where windows are known, in force at this position.
  const checked = checkEventKey(Array.isArray(keys) ? (keys as readonly TrustedKey[]) : [keys as TrustedKey], record.position, record.keyId);
  if (!checked.ok) return checked;
  const key = checked.key;
  const signature = fromBase64(record.signature);
  const verify = options.verifySignature ? strictVerifier(options.verifySignature) : verifyEd25519;
  if (!signature || !verify(key.publicKey, hash, signature)) return fail("event signature does not verify");
  return OK;
}
