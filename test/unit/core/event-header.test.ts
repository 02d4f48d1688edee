import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, eventHeaderJson, EVENT_FORMAT_VERSION, type EventHeader, type JsonValue } from "../../../src/core/index.js";

// eventHeaderJson writes the JCS form by hand, for speed; it must equal the generic
// serialiser's output for every header, or verifiers in other languages would disagree.
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, min: -1e15, max: 1e15 }),
    fc.string({ unit: "grapheme" }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ unit: "grapheme" }), tie("value"), { maxKeys: 3 }),
  ),
})).value as fc.Arbitrary<JsonValue>;

const header: fc.Arbitrary<EventHeader> = fc.record({
  position: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  streamId: fc.string({ unit: "grapheme", minLength: 1 }),
  streamVersion: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  eventId: fc.uuid(),
  type: fc.string({ unit: "grapheme", minLength: 1 }),
  recordedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  metadata: fc.dictionary(fc.string({ unit: "grapheme" }), jsonValue, { maxKeys: 4 }),
  dataHash: fc.base64String({ minLength: 44, maxLength: 44 }),
  prevHash: fc.base64String({ minLength: 44, maxLength: 44 }),
  streamPrevHash: fc.base64String({ minLength: 44, maxLength: 44 }),
  keyId: fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 16, maxLength: 16 }),
});

describe("eventHeaderJson", () => {
  it("equals the generic RFC 8785 serialisation of the header object", () => {
    fc.assert(
      fc.property(header, (h) => {
        const attempt = (f: () => string) => {
          try {
            return f();
          } catch {
            return "refused";
          }
        };
        // Both refuse the same headers (e.g. metadata with unsafe integers) and agree otherwise.
        expect(attempt(() => eventHeaderJson(h))).toBe(attempt(() => canonicalJson({ v: EVENT_FORMAT_VERSION, ...h })));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses lone surrogates and unsafe integers, as the generic serialiser does", () => {
    const base: EventHeader = { position: 1, streamId: "s", streamVersion: 1, eventId: "e", type: "T", recordedAt: "t", metadata: {}, dataHash: "d", prevHash: "p", streamPrevHash: "q", keyId: "k" };
    expect(() => eventHeaderJson({ ...base, streamId: "\ud800" })).toThrow();
    expect(() => eventHeaderJson({ ...base, position: 2 ** 53 })).toThrow();
    expect(() => eventHeaderJson({ ...base, metadata: { a: "\udc00" } })).toThrow();
  });
});
