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
  const b = f.buffer;
  let p = at;
  p += P_DATA_HASH.copy(out, p);
  p = base64(b, f.dataHash, out, p);
  p += P_EVENT_ID.copy(out, p);
  if ((p = jsonString(b, f.eventId, out, p)) < 0) return -1;
  p += P_KEY_ID.copy(out, p);
  if ((p = jsonString(b, f.keyId, out, p)) < 0) return -1;
  p += P_METADATA.copy(out, p);
  p += b.copy(out, p, f.metadata[0], f.metadata[1]);
  p += P_POSITION.copy(out, p);
  p += out.write(String(f.position), p, "latin1");
  p += P_PREV_HASH.copy(out, p);
  p = base64(b, f.prevHash, out, p);
  p += P_RECORDED_AT.copy(out, p);
  if ((p = jsonString(b, f.recordedAt, out, p)) < 0) return -1;
  p += P_STREAM_ID.copy(out, p);
  if ((p = jsonString(b, f.streamId, out, p)) < 0) return -1;
  p += P_STREAM_PREV_HASH.copy(out, p);
  p = base64(b, f.streamPrevHash, out, p);
  p += P_STREAM_VERSION.copy(out, p);
  p += out.write(String(f.streamVersion), p, "latin1");
  p += P_TYPE.copy(out, p);
  if ((p = jsonString(b, f.type, out, p)) < 0) return -1;
  p += P_END.copy(out, p);
  return p;
}

/** `"` + bytes + `"`, or -1 if a byte needs a JSON escape. */
function jsonString(b: Buffer, [start, end]: readonly [number, number], out: Buffer, p: number): number {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c) return -1;
  }
  out[p++] = 0x22;
  p += b.copy(out, p, start, end);
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
