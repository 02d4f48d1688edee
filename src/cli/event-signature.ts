import type { SignatureVerifier } from "../core/index.js";

/** What an event's signature check reads of it: the signed 32-byte hash, the signature, and the key id it names. */
export interface SignedEvent {
  keyId: string;
  hash: Uint8Array;
  signature: Uint8Array;
}

/** Trusted public keys by key id, as `annal verify` resolved them (pinned or published). */
export type EventKeys = ReadonlyMap<string, Uint8Array>;

/**
 * The signature check of one event for `annal verify`'s range workers: the one place that
 * decides which key must have signed the event at `position` (today: the key its keyId
 * names, if trusted). Returns the failure reason, or undefined when the signature verifies.
 */
export function createEventSignatureCheck(keys: EventKeys, verify: SignatureVerifier): (event: SignedEvent, position: number) => string | undefined {
  return (event, _position) => {
    const key = keys.get(event.keyId);
    if (!key) return `unknown key id ${event.keyId}`;
    return verify(key, event.hash, event.signature) ? undefined : "signature does not verify";
  };
}
