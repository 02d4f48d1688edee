import { concatBytes, fromBase64, toBase64, toHex, utf8, equalBytes } from "./bytes.js";
import { sha256 } from "./hash.js";

// C2SP signed-note (https://c2sp.org/signed-note), Ed25519 keys (algorithm byte 0x01):
//   note      = text "\n" signature-line+
//   signature = "— " name " " base64(key hash [4 bytes] || signature [64 bytes]) "\n"
//   key hash  = SHA-256(name || "\n" || 0x01 || public key)[:4]
// The signature is over the text bytes exactly (ending in its final newline).

const ALG_ED25519 = 0x01;
const EM_DASH_PREFIX = "\u2014 ";

export interface NoteSignature {
  name: string;
  keyHash: Uint8Array;
  signature: Uint8Array;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && name.isWellFormed();
}

export function noteKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey).subarray(0, 4);
}

/** The verifier key string of golang.org/x/mod/sumdb/note: name+hash+base64(0x01||key). */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  return `${name}+${toHex(noteKeyHash(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([ALG_ED25519]), publicKey))}`;
}

export function parseVerifierKey(vkey: string): { name: string; publicKey: Uint8Array } | undefined {
  // Split at the first two '+' only, as Go's note.NewVerifier does: the base64 key
  // itself may contain '+' (about half of all Ed25519 keys do).
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (second < 0) return undefined;
  const name = vkey.slice(0, first);
  const hashHex = vkey.slice(first + 1, second);
  const key = fromBase64(vkey.slice(second + 1));
  if (!isValidKeyName(name) || key?.length !== 33 || key[0] !== ALG_ED25519) return undefined;
  const publicKey = key.subarray(1);
  if (toHex(noteKeyHash(name, publicKey)) !== hashHex) return undefined;
  return { name, publicKey };
}

/** Checks that `text` may be signed: non-empty UTF-8 lines, ending in a newline, no blank line. */
export function assertNoteText(text: string): void {
  if (!text.endsWith("\n")) throw new RangeError("note text must end with a newline");
  if (text.includes("\n\n") || text.startsWith("\n")) throw new RangeError("note text must not contain a blank line");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(text) || !text.isWellFormed()) throw new RangeError("note text has control characters");
}

export function formatSignatureLine(sig: NoteSignature): string {
  return `${EM_DASH_PREFIX}${sig.name} ${toBase64(concatBytes(sig.keyHash, sig.signature))}\n`;
}

/** text + blank line + one line per signature. */
export function formatNote(text: string, signatures: readonly NoteSignature[]): string {
  assertNoteText(text);
  return `${text}\n${signatures.map(formatSignatureLine).join("")}`;
}

/** Splits a signed note into its text and signature lines; undefined if malformed. */
export function parseNote(note: string): ParsedNote | undefined {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) return undefined;
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split("\n");
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(EM_DASH_PREFIX)) return undefined;
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.lastIndexOf(" ");
    if (space <= 0) return undefined;
    const name = rest.slice(0, space);
    const bytes = fromBase64(rest.slice(space + 1));
    if (!isValidKeyName(name) || !bytes || bytes.length < 5) return undefined;
    signatures.push({ name, keyHash: bytes.slice(0, 4), signature: bytes.slice(4) });
  }
  try {
    assertNoteText(text);
  } catch {
    return undefined;
  }
  return { text, signatures };
}

/** The signature in `note` by the key (name, publicKey), if present. */
export function findNoteSignature(parsed: ParsedNote, name: string, publicKey: Uint8Array): NoteSignature | undefined {
  const hash = noteKeyHash(name, publicKey);
  return parsed.signatures.find((s) => s.name === name && equalBytes(s.keyHash, hash) && s.signature.length === 64);
}
