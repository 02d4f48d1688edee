import { fromBase64, keyIdOf, parseVerifierKey } from "../core/index.js";

/**
 * The positions a key signs, first to last (inclusive); `toPosition` absent while the key
 * is in force. Published by GET /keys and derivable from the log's KeyRotated events
 * (docs/verification.md, "How a verifier follows keys").
 */
export interface PositionWindow {
  fromPosition?: number;
  toPosition?: number;
}

/**
 * A ledger key an auditor trusts, obtained out of band: a C2SP verifier key
 * (`name+hash+base64(0x01||key)`, as served in `noteVerifierKey`) or the raw 32-byte
 * Ed25519 key (bytes or standard base64). A raw key carries no note name, so the
 * checkpoint's own origin is taken as the key name. With a window, the key is accepted
 * only for positions inside it; without one, wherever the log says it is in force.
 */
export type TrustedKeyInput = ({ verifierKey: string } | { publicKey: Uint8Array | string }) & PositionWindow;

export interface TrustedKey extends PositionWindow {
  /** Signed-note key name; undefined for a raw key (the checkpoint origin is used). */
  name: string | undefined;
  publicKey: Uint8Array;
  keyId: string;
}

/** Parses a trusted key, or says why it cannot be one. */
export function resolveTrustedKey(input: TrustedKeyInput): TrustedKey | { error: string } {
  const window = resolveWindow(input);
  if ("error" in window) return window;
  if ("verifierKey" in input) {
    const parsed = parseVerifierKey(input.verifierKey);
    if (!parsed) return { error: "verifier key is malformed (want name+hash+base64 of 0x01 and 32 key bytes)" };
    return { name: parsed.name, publicKey: parsed.publicKey, keyId: keyIdOf(parsed.publicKey), ...window };
  }
  const raw = typeof input.publicKey === "string" ? fromBase64(input.publicKey) : input.publicKey;
  if (!(raw instanceof Uint8Array) || raw.length !== 32) return { error: "public key must be 32 bytes (standard base64 with padding)" };
  return { name: undefined, publicKey: raw, keyId: keyIdOf(raw), ...window };
}

function resolveWindow(input: PositionWindow): PositionWindow | { error: string } {
  const { fromPosition: from, toPosition: to } = input;
  const isPosition = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 1;
  if (from === undefined && to === undefined) return {};
  if (!isPosition(from)) return { error: "key window: fromPosition must be a positive integer" };
  if (to === undefined) return { fromPosition: from! };
  // A key rotated before it signed anything has the empty window [from, from - 1].
  if (!isPosition(to) || to < from! - 1) return { error: "key window: toPosition must be an integer >= fromPosition - 1" };
  return { fromPosition: from!, toPosition: to };
}

/** Parses a `--public-key`-style string: a verifier key, else base64 of the raw key. */
export function parseTrustedKey(text: string): TrustedKey | { error: string } {
  return text.includes("+") && parseVerifierKey(text) ? resolveTrustedKey({ verifierKey: text }) : resolveTrustedKey({ publicKey: text });
}

/** Whether `position` lies in the key's window (a key without a window: always). */
export function windowContains(key: PositionWindow, position: number): boolean {
  if (key.fromPosition === undefined) return true;
  return position >= key.fromPosition && (key.toPosition === undefined || position <= key.toPosition);
}
