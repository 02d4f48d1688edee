import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  canonicalJson,
  createChainVerifier,
  fromBase64,
  toBase64,
  toHex,
  verifyEd25519,
  type EventRecord,
  type JsonObject,
  type JsonValue,
  type SignatureVerifier,
  type Verdict,
} from "../../../src/core/index.js";
import { cloneRecords, createChainBuilder, createFixtureKey, signNote, type EventSpec, type FixtureKey } from "../../support/chain-fixture.js";

const key = createFixtureKey();
const checkpointKey = { name: key.noteName, publicKey: key.publicKey };

// Ed25519 verification is a pure function; remembering its answers keeps hundreds of
// property runs fast without changing any verdict (tampered inputs miss the cache).
const seen = new Map<string, boolean>();
const memoVerify: SignatureVerifier = (publicKey, message, signature) => {
  const id = `${toHex(publicKey)}:${toHex(message)}:${toHex(signature)}`;
  let answer = seen.get(id);
  if (answer === undefined) seen.set(id, (answer = verifyEd25519(publicKey, message, signature)));
  return answer;
};

function verifier(k: FixtureKey = key) {
  return createChainVerifier({ publicKeys: new Map([[k.keyId, k.publicKey]]), verifySignature: memoVerify });
}

/** Pushes every record, then checks the checkpoint note; the first failure wins. */
function verifyAll(records: readonly EventRecord[], note: string): Verdict {
  const v = verifier();
  for (const record of records) {
    const verdict = v.push(record);
    if (!verdict.ok) return verdict;
  }
  return v.checkCheckpoint(note, checkpointKey);
}

/** 1 + the first index where `tampered` no longer holds the original record object. */
function firstAffectedPosition(original: readonly EventRecord[], tampered: readonly EventRecord[]): number {
  let i = 0;
  while (i < original.length && i < tampered.length && original[i] === tampered[i]) i++;
  return i + 1;
}

const isIJson = (v: unknown): boolean =>
  typeof v === "number" ? !Number.isInteger(v) || Number.isSafeInteger(v) : typeof v !== "object" || v === null || Object.values(v).every(isIJson);

const jsonArb = fc.jsonValue({ maxDepth: 3 }).filter((v) => isIJson(v) && !JSON.stringify(v).includes("__proto__")) as fc.Arbitrary<JsonValue>;
const metadataArb = fc.dictionary(fc.constantFrom("actor", "correlationId", "causationId", "ip"), jsonArb, { maxKeys: 3 }) as fc.Arbitrary<JsonObject>;

const specArb: fc.Arbitrary<EventSpec> = fc.record({
  streamId: fc.constantFrom("orders-1", "orders-2", "payments-7"),
  type: fc.constantFrom("OrderPlaced", "OrderShipped", "PaymentCaptured"),
  data: jsonArb,
  metadata: metadataArb,
});

const chainArb = fc.array(specArb, { minLength: 1, maxLength: 8 }).map((specs) => {
  const builder = createChainBuilder(key);
  for (const spec of specs) builder.append(spec);
  return { records: builder.records, note: builder.checkpoint().note };
});

/** A different JSON value at one random leaf (or a wrapper), guaranteed to canonicalise differently. */
function mutateJson(value: JsonValue, pick: number): JsonValue {
  const mutated = mutateAt(value, pick);
  return canonicalJson(mutated) === canonicalJson(value) ? [value] : mutated;
}

function mutateAt(value: JsonValue, pick: number): JsonValue {
  if (Array.isArray(value)) {
    if (value.length === 0) return [null];
    const i = pick % value.length;
    return value.map((v, j) => (j === i ? mutateAt(v, Math.floor(pick / value.length)) : v));
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return { x: 1 };
    const k = keys[pick % keys.length]!;
    return { ...value, [k]: mutateAt(value[k]!, Math.floor(pick / keys.length)) };
  }
  if (typeof value === "string") return value.length === 0 ? "x" : value.slice(0, -1) + String.fromCharCode(value.charCodeAt(value.length - 1) ^ 1);
  if (typeof value === "number") return value === 0 ? 1 : -value;
  if (typeof value === "boolean") return !value;
  return 0;
}

const BASE64_FIELDS = ["hash", "prevHash", "streamPrevHash", "dataHash", "signature", "dataSalt"] as const;
const TEXT_FIELDS = ["streamId", "type", "eventId", "recordedAt", "keyId", ...BASE64_FIELDS] as const;

type Tamper =
  | { kind: "bit"; field: (typeof BASE64_FIELDS)[number]; at: number }
  | { kind: "char"; field: (typeof TEXT_FIELDS)[number]; at: number }
  | { kind: "json"; field: "data" | "metadata"; at: number }
  | { kind: "number"; field: "position" | "streamVersion"; delta: number };

const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant("bit" as const), field: fc.constantFrom(...BASE64_FIELDS), at: fc.nat() }),
  fc.record({ kind: fc.constant("char" as const), field: fc.constantFrom(...TEXT_FIELDS), at: fc.nat() }),
  fc.record({ kind: fc.constant("json" as const), field: fc.constantFrom("data" as const, "metadata" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("number" as const), field: fc.constantFrom("position" as const, "streamVersion" as const), delta: fc.constantFrom(-1, 1, 7) }),
);

function applyTamper(record: EventRecord, t: Tamper): EventRecord {
  const out = structuredClone(record);
  switch (t.kind) {
    case "bit": {
      const bytes = fromBase64(out[t.field]!)!;
      const bit = t.at % (bytes.length * 8);
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      out[t.field] = toBase64(bytes);
      break;
    }
    case "char": {
      const text = out[t.field]!;
      const i = t.at % text.length;
      out[t.field] = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
      break;
    }
    case "json":
      if (t.field === "data") out.data = mutateJson(out.data!, t.at);
      else {
        const m = mutateJson(out.metadata, t.at);
        out.metadata = m !== null && typeof m === "object" && !Array.isArray(m) ? m : { ...out.metadata, tampered: true };
      }
      break;
    case "number":
      out[t.field] += t.delta;
      break;
  }
  expect(out).not.toEqual(record);
  return out;
}

describe("createChainVerifier: valid chains", () => {
  it("accepts every untampered chain and its signed checkpoint (property)", () => {
    fc.assert(
      fc.property(chainArb, ({ records, note }) => {
        expect(verifyAll(records, note)).toEqual({ ok: true });
      }),
      { numRuns: 100 },
    );
  });

  it("accepts a redacted record (data and salt removed) with its hash intact", () => {
    const b = createChainBuilder(key);
    b.append({ streamId: "s", data: { secret: "pii" } });
    b.append({ streamId: "s", data: { other: 1 } });
    const records = cloneRecords(b.records);
    delete records[0]!.data;
    delete records[0]!.dataSalt;
    expect(verifyAll(records, b.checkpoint().note)).toEqual({ ok: true });
  });

  it("checks checkpoints at every size along the way", () => {
    const b = createChainBuilder(key);
    const v = verifier();
    expect(v.checkCheckpoint(b.checkpoint().note, checkpointKey)).toEqual({ ok: true });
    for (let i = 0; i < 12; i++) {
      const record = b.append({ streamId: `s-${i % 3}`, data: { i } });
      expect(v.push(record)).toEqual({ ok: true });
      expect(v.checkCheckpoint(b.checkpoint().note, checkpointKey, "annal.example/test-log")).toEqual({ ok: true });
    }
    expect(v.size).toBe(12);
    expect(toBase64(v.root())).toBe(b.checkpoint().checkpoint.rootHash);
  });
});

describe("createChainVerifier: tampering is caught at the first affected position", () => {
  it("flipping any byte or character of any hashed or signed field (property)", () => {
    fc.assert(
      fc.property(chainArb, fc.nat(), tamperArb, ({ records, note }, pick, tamper) => {
        const k = pick % records.length;
        const tampered = records.slice();
        tampered[k] = applyTamper(records[k]!, tamper);
        const verdict = verifyAll(tampered, note);
        expect(verdict).toMatchObject({ ok: false, position: k + 1 });
      }),
      { numRuns: 400 },
    );
  });

  it("dropping any event, including the last (caught by the checkpoint) (property)", () => {
    fc.assert(
      fc.property(chainArb, fc.nat(), ({ records, note }, pick) => {
        const k = pick % records.length;
        const tampered = records.filter((_, i) => i !== k);
        expect(verifyAll(tampered, note)).toMatchObject({ ok: false, position: k + 1 });
      }),
      { numRuns: 150 },
    );
  });

  it("duplicating any event anywhere (property)", () => {
    fc.assert(
      fc.property(chainArb, fc.nat(), fc.nat(), ({ records, note }, from, to) => {
        const copy = records[from % records.length]!;
        const at = to % (records.length + 1);
        const tampered = [...records.slice(0, at), copy, ...records.slice(at)];
        expect(verifyAll(tampered, note)).toMatchObject({ ok: false, position: firstAffectedPosition(records, tampered) });
      }),
      { numRuns: 150 },
    );
  });

  it("swapping any two events (property)", () => {
    fc.assert(
      fc.property(
        chainArb.filter((c) => c.records.length >= 2),
        fc.nat(),
        fc.nat(),
        ({ records, note }, a, b) => {
          const i = a % records.length;
          let j = b % records.length;
          if (j === i) j = (i + 1) % records.length;
          const tampered = records.slice();
          [tampered[i], tampered[j]] = [tampered[j]!, tampered[i]!];
          expect(verifyAll(tampered, note)).toMatchObject({ ok: false, position: Math.min(i, j) + 1 });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a valid chain re-signed by another key fails at position 1 (unknown key id)", () => {
    const other = createFixtureKey(new Uint8Array(32).fill(42));
    const b = createChainBuilder(other);
    b.append({ streamId: "s" });
    expect(verifyAll(b.records, b.checkpoint().note)).toMatchObject({ ok: false, position: 1 });
  });

  it("a replaced payload is caught, and a salt left behind by a redaction is refused", () => {
    const b = createChainBuilder(key);
    b.append({ streamId: "s", data: { amount: 10 } });
    const records = cloneRecords(b.records);
    records[0]!.data = { amount: 1_000_000 };
    expect(verifyAll(records, b.checkpoint().note)).toMatchObject({ ok: false, position: 1 });
    const halfRedacted = cloneRecords(b.records);
    delete halfRedacted[0]!.data;
    expect(verifyAll(halfRedacted, b.checkpoint().note)).toMatchObject({ ok: false, position: 1 });
  });

  it("is sticky: after a failure every push answers the same verdict", () => {
    const b = createChainBuilder(key);
    for (let i = 0; i < 3; i++) b.append({ streamId: "s" });
    const v = verifier();
    const bad = { ...b.records[0]!, type: "Forged" };
    const first = v.push(bad);
    expect(first).toMatchObject({ ok: false, position: 1 });
    expect(v.push(b.records[1]!)).toBe(first);
    expect(v.checkCheckpoint(b.checkpoint().note, checkpointKey)).toBe(first);
    expect(v.failure).toBe(first);
  });
});

describe("createChainVerifier: checkpoints", () => {
  const b = createChainBuilder(key);
  for (let i = 0; i < 5; i++) b.append({ streamId: `s-${i % 2}`, data: { i } });
  const { note, body } = b.checkpoint();

  const check = (n: string, origin?: string): Verdict => {
    const v = verifier();
    for (const r of b.records) expect(v.push(r)).toEqual({ ok: true });
    return v.checkCheckpoint(n, checkpointKey, origin);
  };

  it("accepts the signed checkpoint over the chain", () => {
    expect(check(note)).toEqual({ ok: true });
  });

  it("rejects any single changed character of the note (property)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 0x7e }), (at, code) => {
        const i = at % note.length;
        if (note.charCodeAt(i) === code) return;
        const tampered = note.slice(0, i) + String.fromCharCode(code) + note.slice(i + 1);
        expect(check(tampered)).toMatchObject({ ok: false });
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a well-signed checkpoint with the wrong root, chain head, size or origin", () => {
    const good = b.checkpoint().checkpoint;
    const signText = (text: string): string => signNote(key, text);
    const sign = (over: Partial<typeof good>): string =>
      signText(body.replace(good.rootHash, over.rootHash ?? good.rootHash).replace(good.chainHead!, over.chainHead ?? good.chainHead!));
    expect(check(sign({ rootHash: b.records[0]!.hash }))).toMatchObject({ ok: false, position: 5, reason: expect.stringMatching(/root/) as unknown });
    expect(check(sign({ chainHead: b.records[3]!.hash }))).toMatchObject({ ok: false, position: 5, reason: expect.stringMatching(/chain head/) as unknown });
    expect(check(signText(body.replace("\n5\n", "\n6\n")))).toMatchObject({ ok: false, position: 6 });
    expect(check(signText(body.replace("\n5\n", "\n4\n")))).toMatchObject({ ok: false, position: 5 });
    expect(check(note, "annal.example/other-log")).toMatchObject({ ok: false, reason: expect.stringMatching(/origin/) as unknown });
  });

  it("accepts a checkpoint signed by any one of several trusted keys (rotation)", () => {
    const retired = { name: key.noteName, publicKey: createFixtureKey(new Uint8Array(32).fill(6)).publicKey };
    const v = verifier();
    for (const r of b.records) v.push(r);
    expect(v.checkCheckpoint(note, [retired, checkpointKey])).toEqual({ ok: true });
    const w = verifier();
    for (const r of b.records) w.push(r);
    expect(w.checkCheckpoint(note, [retired])).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) as unknown });
  });

  it("rejects a checkpoint signed by another key", () => {
    const other = createChainBuilder(createFixtureKey(new Uint8Array(32).fill(5), key.noteName));
    for (const r of b.records) other.append({ streamId: r.streamId, data: r.data! });
    expect(check(other.checkpoint().note)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) as unknown });
  });
});

describe("createChainVerifier: checkpoints are believed only once signed", () => {
  const b = createChainBuilder(key);
  for (let i = 0; i < 3; i++) b.append({ streamId: "s" });
  const note = b.checkpoint().note;

  it("names a note whose size line was raised as a bad checkpoint at its own size, not as missing events", () => {
    const raised = note.replace("\n3\n", "\n4\n");
    expect(verifyAll(b.records, raised)).toMatchObject({ ok: false, position: 3, reason: expect.stringContaining("checkpoint at tree size 3") });
  });

  it("refuses a note signed by the trusted key under a name other than its origin", () => {
    const otherName = createFixtureKey(key.seed, "annal.example/other-log");
    const v = verifier();
    for (const record of b.records) v.push(record);
    expect(v.checkCheckpoint(note, { name: otherName.noteName, publicKey: otherName.publicKey })).toMatchObject({ ok: false, position: 3 });
  });

  it("accepts a raw key (no name) under the note's origin", () => {
    const v = verifier();
    for (const record of b.records) v.push(record);
    expect(v.checkCheckpoint(note, { name: undefined, publicKey: key.publicKey })).toEqual({ ok: true });
  });
});
