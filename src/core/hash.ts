import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "./bytes.js";

/** SHA-256 over the concatenation of parts. Adapters may pass a native one (node:crypto). */
export type Sha256 = (...parts: Uint8Array[]) => Uint8Array;

/** SHA-256 of the concatenation of the parts. Pure JS (noble), so it runs anywhere. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]!);
  return nobleSha256(concatBytes(...parts));
}

/**
 * Domain-separation tags: every hash Annal computes starts with one of these ASCII tags
 * and a 0x00 byte, so a data hash can never be replayed as an event hash (or vice versa).
 */
export const DOMAIN_EVENT = concatBytes(utf8("annal/event/v1"), new Uint8Array([0]));
export const DOMAIN_DATA = concatBytes(utf8("annal/data/v1"), new Uint8Array([0]));

export const HASH_LENGTH = 32;
/** The prevHash of position 1 and the streamPrevHash of a stream's first event. */
export const ZERO_HASH = new Uint8Array(HASH_LENGTH);
