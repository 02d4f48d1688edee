import { EVENT_FORMAT_VERSION } from "../core/index.js";

/**
 * Where the header's fields lie in a stored row: text fields as their stored UTF-8 bytes,
 * hashes as 32 raw bytes, integers as numbers.
 */
export interface HeaderFields {
  buffer: Buffer;
  position: number;
  streamVersion: number;
  /** [start, end) of each text field in `buffer`. */
  streamId: readonly [number, number];
  eventId: readonly [number, number];
  type: readonly [number, number];
  recordedAt: readonly [number, number];
  keyId: readonly [number, number];
  /** The stored canonical metadata text, hashed as it is. */
  metadata: readonly [number, number];
  dataHash: number;
  prevHash: number;
  streamPrevHash: number;
}

const ascii = (s: string) => Buffer.from(s, "latin1");
const P_DATA_HASH = ascii('{"dataHash":"');
const P_EVENT_ID = ascii('","eventId":');
const P_KEY_ID = ascii(',"keyId":');
const P_METADATA = ascii(',"metadata":');
const P_POSITION = ascii(',"position":');
const P_PREV_HASH = ascii(',"prevHash":"');
const P_RECORDED_AT = ascii('","recordedAt":');
const P_STREAM_ID = ascii(',"streamId":');
const P_STREAM_PREV_HASH = ascii(',"streamPrevHash":"');
const P_STREAM_VERSION = ascii('","streamVersion":');
const P_TYPE = ascii(',"type":');
const P_END = ascii(`,"v":${EVENT_FORMAT_VERSION}}`);
const B64 = ascii("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/**
 * Writes the canonical header bytes that the event hash covers (core eventHeaderJson, the
 * spec's form) at `out[at..]` straight from a stored row's bytes, and returns the end, or
 * -1 when a text field holds a character JSON escapes (`"`, `\`, a control character):
 * the caller then takes the general path through eventHeaderJson. Other characters stand
 * for themselves in RFC 8785, and PostgreSQL text is valid UTF-8, so its bytes are the
 * canonical bytes. `out` must hold the row's text fields plus 400 bytes.
 */
export function writeHeaderBytes(out: Buffer, at: number, f: HeaderFields): number {
  // Byte loops, not Buffer#copy: the pieces are short, and a copy call costs more than
  // the bytes it moves (this runs once per event verified).
  const b = f.buffer;
  let p = at;
  p = put(P_DATA_HASH, out, p);
  p = base64(b, f.dataHash, out, p);
  p = put(P_EVENT_ID, out, p);
  if ((p = jsonString(b, f.eventId, out, p)) < 0) return -1;
  p = put(P_KEY_ID, out, p);
  if ((p = jsonString(b, f.keyId, out, p)) < 0) return -1;
  p = put(P_METADATA, out, p);
  for (let i = f.metadata[0], end = f.metadata[1]; i < end; i++) out[p++] = b[i]!;
  p = put(P_POSITION, out, p);
  p = decimal(f.position, out, p);
  p = put(P_PREV_HASH, out, p);
  p = base64(b, f.prevHash, out, p);
  p = put(P_RECORDED_AT, out, p);
  if ((p = jsonString(b, f.recordedAt, out, p)) < 0) return -1;
  p = put(P_STREAM_ID, out, p);
  if ((p = jsonString(b, f.streamId, out, p)) < 0) return -1;
  p = put(P_STREAM_PREV_HASH, out, p);
  p = base64(b, f.streamPrevHash, out, p);
  p = put(P_STREAM_VERSION, out, p);
  p = decimal(f.streamVersion, out, p);
  p = put(P_TYPE, out, p);
  if ((p = jsonString(b, f.type, out, p)) < 0) return -1;
  return put(P_END, out, p);
}

function put(piece: Buffer, out: Buffer, p: number): number {
  for (let i = 0; i < piece.length; i++) out[p++] = piece[i]!;
  return p;
}

/** A safe integer in decimal, as JSON (and String) writes it. */
function decimal(n: number, out: Buffer, p: number): number {
  if (n < 0) {
    out[p] = 0x2d;
    return decimal(-n, out, p + 1);
  }
  if (n < 10) {
    out[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 0;
  for (let m = n; m >= 1; m = Math.floor(m / 10)) digits++;
  let m = n;
  for (let i = p + digits - 1; i >= p; i--) {
    out[i] = 0x30 + (m % 10);
    m = Math.floor(m / 10);
  }
  return p + digits;
}

/** `"` + bytes + `"`, or -1 if a byte needs a JSON escape. */
function jsonString(b: Buffer, [start, end]: readonly [number, number], out: Buffer, p: number): number {
  out[p++] = 0x22;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c) return -1;
    out[p++] = c;
  }
  out[p++] = 0x22;
  return p;
}

/** Standard padded base64 of the 32 bytes at b[at..] (44 characters), written at out[p..]. */
function base64(b: Buffer, at: number, out: Buffer, p: number): number {
  let i = at;
  for (const end = at + 30; i < end; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[p++] = B64[n >>> 18]!;
    out[p++] = B64[(n >>> 12) & 63]!;
    out[p++] = B64[(n >>> 6) & 63]!;
    out[p++] = B64[n & 63]!;
  }
  const n = (b[i]! << 16) | (b[i + 1]! << 8);
  out[p++] = B64[n >>> 18]!;
  out[p++] = B64[(n >>> 12) & 63]!;
  out[p++] = B64[(n >>> 6) & 63]!;
  out[p++] = 0x3d;
  return p;
}
