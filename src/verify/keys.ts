import { fromBase64, keyIdOf, parseVerifierKey } from "../core/index.js";

/**
 * A ledger key an auditor trusts, obtained out of band: a C2SP verifier key
 * (`name+hash+base64(0x01||key)`, as served in `noteVerifierKey`) or the raw 32-byte
 * Ed25519 key (bytes or standard base64). A raw key carries no note name, so the
 * checkpoint's own origin is taken as the key name.
 */
export type TrustedKeyInput = { verifierKey: string } | { publicKey: Uint8Array | string };

export interface TrustedKey {
  /** Signed-note key name; undefined for a raw key (the checkpoint origin is used). */
  name: string | undefined;
  publicKey: Uint8Array;
  keyId: string;
}

/** Parses a trusted key, or says why it cannot be one. */
export function resolveTrustedKey(input: TrustedKeyInput): TrustedKey | { error: string } {
  if ("verifierKey" in input) {
    const parsed = parseVerifierKey(input.verifierKey);
    if (!parsed) return { error: "verifier key is malformed (want name+hash+base64 of 0x01 and 32 key bytes)" };
    return { name: parsed.name, publicKey: parsed.publicKey, keyId: keyIdOf(parsed.publicKey) };
  }
  const raw = typeof input.publicKey === "string" ? fromBase64(input.publicKey) : input.publicKey;
  if (!(raw instanceof Uint8Array) || raw.length !== 32) return { error: "public key must be 32 bytes (standard base64 with padding)" };
  return { name: undefined, publicKey: raw, keyId: keyIdOf(raw) };
}

/** Parses a `--public-key`-style string: a verifier key, else base64 of the raw key. */
export function parseTrustedKey(text: string): TrustedKey | { error: string } {
  return text.includes("+") && parseVerifierKey(text) ? resolveTrustedKey({ verifierKey: text }) : resolveTrustedKey({ publicKey: text });
}
