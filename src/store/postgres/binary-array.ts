/**
 * One-dimensional PostgreSQL arrays in the binary wire format (array_recv), for query
 * parameters. node-postgres sends a Buffer parameter in binary and everything else as
 * text; an array of values becomes a text literal (`{"\\x…",…}`), escaped element by
 * element on the client and parsed again by the server. A batch of appends sends about
 * fifteen arrays of one element per event, bytea hashes and signatures among them (hex,
 * twice their size): as binary they cost a copy each on both sides.
 *
 * Written here: node-postgres has no binary parameter encoder, and the format is a fixed
 * header plus (length, bytes) per element (PostgreSQL's arrayfuncs.c, array_recv).
 */

/** Element types this encoder writes, by the OID PostgreSQL checks them against. */
const ELEMENT_OID = { bool: 16, bytea: 17, int8: 20, int2: 21, text: 25, uuid: 2950 } as const;

export type ArrayElement = keyof typeof ELEMENT_OID;
type Value<T extends ArrayElement> = T extends "bytea" ? Uint8Array : T extends "int8" | "int2" ? number : T extends "bool" ? boolean : string;

const SIZE: Partial<Record<ArrayElement, number>> = { bool: 1, int8: 8, int2: 2, uuid: 16 };

/**
 * `values` as the binary form of `type[]`: the parameter must be cast to that array type
 * in the statement (e.g. `$1::bytea[]`). No element may be null (none of the batch's are).
 */
export function binaryArray<T extends ArrayElement>(type: T, values: readonly Value<T>[]): Buffer {
  const fixed = SIZE[type];
  const texts = fixed === undefined && type === "text" ? (values as readonly string[]).map((v) => Buffer.from(v, "utf8")) : undefined;
  const elements = texts ?? (values as readonly unknown[]);
  let size = values.length === 0 ? 12 : 20;
  for (let i = 0; i < elements.length; i++) size += 4 + (fixed ?? (elements[i] as Uint8Array).length);
  const out = Buffer.allocUnsafe(size);
  // Header: dimensions, has-nulls flag, element OID; then each dimension's length and lower bound.
  out.writeInt32BE(values.length === 0 ? 0 : 1, 0);
  out.writeInt32BE(0, 4);
  out.writeInt32BE(ELEMENT_OID[type], 8);
  let at = 12;
  if (values.length > 0) {
    out.writeInt32BE(values.length, 12);
    out.writeInt32BE(1, 16);
    at = 20;
  }
  for (let i = 0; i < elements.length; i++) {
    const value = elements[i];
    switch (type) {
      case "int8":
        out.writeInt32BE(8, at);
        out.writeBigInt64BE(BigInt(value as number), at + 4);
        at += 12;
        break;
      case "int2":
        out.writeInt32BE(2, at);
        out.writeInt16BE(value as number, at + 4);
        at += 6;
        break;
      case "bool":
        out.writeInt32BE(1, at);
        out[at + 4] = value ? 1 : 0;
        at += 5;
        break;
      case "uuid": {
        out.writeInt32BE(16, at);
        const hex = (value as string).replace(/-/g, "");
        if (hex.length !== 32 || out.write(hex, at + 4, 16, "hex") !== 16) throw new RangeError(`not a UUID: ${String(value)}`);
        at += 20;
        break;
      }
      default: {
        const bytes = value as Uint8Array;
        out.writeInt32BE(bytes.length, at);
        out.set(bytes, at + 4);
        at += 4 + bytes.length;
      }
    }
  }
  return out;
}
