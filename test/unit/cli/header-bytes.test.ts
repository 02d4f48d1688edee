import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventHeaderJson, type EventHeader } from "../../../src/core/index.js";
import { writeHeaderBytes } from "../../../src/cli/header-bytes.js";

// writeHeaderBytes is a fast path for the canonical header (core eventHeaderJson is the
// spec's form, pinned by the golden vectors): on every input it must give the same bytes,
// or refuse (-1) so the caller takes the general path.
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("a\"b", "back\\slash", "tab\there", "ctl\u0001", "ü€😀", "\u2028", "\u007f"));

describe("writeHeaderBytes (annal verify's header from stored bytes)", () => {
  it("writes exactly eventHeaderJson's UTF-8 bytes, or refuses a field JSON would escape", () => {
    fc.assert(
      fc.property(
        fc.record({ streamId: text, eventId: text, type: text, recordedAt: text, keyId: text, metadata: fc.json(), position: fc.maxSafeNat(), streamVersion: fc.oneof(fc.maxSafeNat(), fc.maxSafeInteger(), fc.integer({ min: -20, max: 20 })) }),
        hash,
        hash,
        hash,
        (f, dataHash, prevHash, streamPrevHash) => {
          // A row as stored: text fields and hashes side by side in one buffer.
          const parts = [f.streamId, f.eventId, f.type, f.recordedAt, f.keyId, f.metadata].map((s) => Buffer.from(s));
          const buffer = Buffer.concat([...parts, dataHash, prevHash, streamPrevHash]);
          const at: Array<[number, number]> = [];
          let p = 0;
          for (const part of parts) at.push([p, (p += part.length)]);
          const out = Buffer.alloc(buffer.length + 400);
          const end = writeHeaderBytes(out, 0, {
            buffer,
            position: f.position,
            streamVersion: f.streamVersion,
            streamId: at[0]!,
            eventId: at[1]!,
            type: at[2]!,
            recordedAt: at[3]!,
            keyId: at[4]!,
            metadata: at[5]!,
            dataHash: p,
            prevHash: p + 32,
            streamPrevHash: p + 64,
          });
          const header: EventHeader = {
            position: f.position,
            streamId: f.streamId,
            streamVersion: f.streamVersion,
            eventId: f.eventId,
            type: f.type,
            recordedAt: f.recordedAt,
            metadata: {},
            dataHash: Buffer.from(dataHash).toString("base64"),
            prevHash: Buffer.from(prevHash).toString("base64"),
            streamPrevHash: Buffer.from(streamPrevHash).toString("base64"),
            keyId: f.keyId,
          };
          const escapes = [f.streamId, f.eventId, f.type, f.recordedAt, f.keyId].some((s) => JSON.stringify(s) !== `"${s}"`);
          const wellFormed = [f.streamId, f.eventId, f.type, f.recordedAt, f.keyId].every((s) => s.isWellFormed());
          if (escapes) expect(end).toBe(-1);
          else if (wellFormed) expect(out.subarray(0, end).toString("hex")).toBe(Buffer.from(eventHeaderJson(header, f.metadata)).toString("hex"));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
