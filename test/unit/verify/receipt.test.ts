import { describe, expect, it } from "vitest";
import { inclusionProofOf, leafHash, decodeHash, fromBase64, toBase64 } from "../../../src/core/index.js";
import { RECEIPT_FORMAT, verifyReceipt, type EventReceipt } from "../../../src/verify/index.js";
import { createChainBuilder, createFixtureKey, signNote } from "../../support/chain-fixture.js";

// A receipt built in-test exactly as the server builds one: no database, no network.
function buildReceipt(position = 3, size = 7): { receipt: EventReceipt; verifierKey: string; publicKey: string } {
  const builder = createChainBuilder();
  for (let i = 1; i <= size; i++) builder.append({ streamId: i % 2 === 0 ? "orders-2" : "orders-1", data: { n: i, note: "é" }, metadata: { actor: "alice" } });
  const { note, checkpoint } = builder.checkpoint();
  const leaves = builder.records.map((r) => leafHash(decodeHash(r.hash)!));
  const event = structuredClone(builder.records[position - 1]!);
  return {
    receipt: {
      format: RECEIPT_FORMAT,
      event,
      inclusionProof: { leafIndex: position - 1, treeSize: size, auditPath: inclusionProofOf(leaves, position - 1, size).map(toBase64) },
      checkpoint: { treeSize: size, rootHash: checkpoint.rootHash, note },
      publicKey: builder.key.verifierKey,
    },
    verifierKey: builder.key.verifierKey,
    publicKey: toBase64(builder.key.publicKey),
  };
}

type Path = (string | number)[];
type Json = Record<string | number, unknown>;

/** Every leaf (string, number, boolean, null) of a JSON value, with its path. */
function leaves(value: unknown, path: Path = []): Path[] {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

/** Every member path (objects and array items too), to delete them. */
function members(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...path, k], ...members(v, [...path, k])]);
}

function update(root: unknown, path: Path, change: (parent: Json, key: string | number) => void): void {
  let node = root as Json;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  change(node, path[path.length - 1]!);
}

function mutate(value: unknown): unknown[] {
  if (typeof value === "number") return [value + 1, value - 1, String(value)];
  if (typeof value === "boolean") return [!value];
  if (value === null) return [0];
  const text = value as string;
  const out: string[] = [text + "x", text.slice(1)];
  // Change single characters at a few spots (start, middle, end), each to one that differs.
  for (const at of new Set([0, Math.floor(text.length / 2), text.length - 2, text.length - 1])) {
    if (at < 0 || at >= text.length) continue;
    const c = text[at] === "A" ? "B" : "A";
    out.push(text.slice(0, at) + c + text.slice(at + 1));
  }
  return out;
}

describe("verifyReceipt (offline, no database or network)", () => {
  const { receipt, verifierKey, publicKey } = buildReceipt();

  it("accepts an untouched receipt with the verifier key or the raw public key", () => {
    expect(verifyReceipt(receipt, { verifierKey })).toEqual({ ok: true });
    expect(verifyReceipt(receipt, { publicKey })).toEqual({ ok: true });
    expect(verifyReceipt(receipt, { publicKey: fromBase64(publicKey)! })).toEqual({ ok: true });
    const { publicKey: _hint, ...withoutHint } = receipt;
    expect(verifyReceipt(withoutHint, { verifierKey })).toEqual({ ok: true });
  });

  it("accepts receipts for every position of trees of many sizes", () => {
    for (const size of [1, 2, 3, 5, 8, 13]) {
      for (let position = 1; position <= size; position++) {
        const built = buildReceipt(position, size);
        expect(verifyReceipt(built.receipt, { verifierKey: built.verifierKey }), `${position}/${size}`).toEqual({ ok: true });
      }
    }
  });

  const cases = leaves(receipt).flatMap((path) => {
    let current: unknown = receipt;
    for (const key of path) current = (current as Json)[key];
    return mutate(current).map((replacement) => [path.join("."), replacement, path] as const);
  });

  it.each(cases)("fails when %s becomes %j", (_name, replacement, path) => {
    const tampered = structuredClone(receipt);
    update(tampered, path, (parent, key) => (parent[key] = replacement));
    expect(verifyReceipt(tampered, { verifierKey }).ok).toBe(false);
  });

  // `publicKey` is an optional hint (never trusted), so dropping it is allowed (tested above).
  const removable = members(receipt).filter((path) => path.join(".") !== "publicKey");
  it.each(removable.map((path) => [path.join("."), path] as const))("fails when %s is removed", (_name, path) => {
    const tampered = structuredClone(receipt);
    update(tampered, path, (parent, key) => (Array.isArray(parent) ? parent.splice(Number(key), 1) : delete parent[key]));
    expect(verifyReceipt(tampered, { verifierKey }).ok).toBe(false);
  });

  it("fails when a member is added anywhere but data", () => {
    for (const target of [[], ["event"], ["inclusionProof"], ["checkpoint"]] as Path[]) {
      const tampered = structuredClone(receipt) as unknown as Json;
      let node = tampered;
      for (const key of target) node = node[key] as Json;
      node.extra = 1;
      expect(verifyReceipt(tampered, { verifierKey }).ok, target.join(".")).toBe(false);
    }
    const padded = structuredClone(receipt);
    padded.inclusionProof.auditPath.push(padded.inclusionProof.auditPath[0]!);
    expect(verifyReceipt(padded, { verifierKey }).ok).toBe(false);
  });

  it("fails under another key, and when the receipt names another key", () => {
    const other = createFixtureKey(new Uint8Array(32).fill(9));
    expect(verifyReceipt(receipt, { verifierKey: other.verifierKey }).ok).toBe(false);
    expect(verifyReceipt({ ...receipt, publicKey: other.verifierKey }, { verifierKey }).ok).toBe(false);
    expect(verifyReceipt(receipt, { verifierKey: "not a key" }).ok).toBe(false);
  });

  it("accepts a real redaction (data and dataSalt both gone) and refuses a half one or a redaction flag", () => {
    const { data: _d, dataSalt: _s, ...redacted } = receipt.event;
    expect(verifyReceipt({ ...receipt, event: redacted }, { verifierKey })).toEqual({ ok: true });
    const { data: _d2, ...saltOnly } = receipt.event;
    expect(verifyReceipt({ ...receipt, event: saltOnly }, { verifierKey }).ok).toBe(false);
    // No member outside section 3 rides along, not even an honest-looking flag.
    expect(verifyReceipt({ ...receipt, event: { ...redacted, redacted: true } }, { verifierKey }).ok).toBe(false);
    expect(verifyReceipt({ ...receipt, event: { ...receipt.event, redacted: false } }, { verifierKey }).ok).toBe(false);
  });

  it("refuses non-JSON inputs without throwing", () => {
    for (const bad of [null, undefined, 1, "x", [], { format: RECEIPT_FORMAT }]) expect(verifyReceipt(bad, { verifierKey }).ok).toBe(false);
  });
});

describe("verifyReceipt with a witness quorum", () => {
  it("needs enough valid cosignatures on the checkpoint", async () => {
    const { ed25519 } = await import("@noble/curves/ed25519.js");
    const { cosign } = await import("../../../src/verify/index.js");
    const { receipt, verifierKey } = buildReceipt();
    const witnesses = [1, 2].map((n) => {
      const seed = new Uint8Array(32).fill(n);
      return { name: `witness.example/w${n}`, publicKey: ed25519.getPublicKey(seed), sign: (m: Uint8Array) => ed25519.sign(m, seed) };
    });
    const body = receipt.checkpoint.note.slice(0, receipt.checkpoint.note.lastIndexOf("\n\n") + 1);
    const once = { ...receipt, checkpoint: { ...receipt.checkpoint, note: receipt.checkpoint.note + cosign(body, witnesses[0]!, 1_767_225_600) } };
    const keys = witnesses.map(({ name, publicKey }) => ({ name, publicKey }));
    expect(verifyReceipt(once, { verifierKey }, { witnesses: { keys, quorum: 1 } })).toEqual({ ok: true });
    expect(verifyReceipt(once, { verifierKey }, { witnesses: { keys, quorum: 2 } }).ok).toBe(false);
    expect(verifyReceipt(receipt, { verifierKey }, { witnesses: { keys, quorum: 1 } }).ok).toBe(false);
    // A cosignature over another body does not count.
    const forged = { ...receipt, checkpoint: { ...receipt.checkpoint, note: receipt.checkpoint.note + cosign(body.replace("\n7\n", "\n8\n"), witnesses[0]!, 1) } };
    expect(verifyReceipt(forged, { verifierKey }, { witnesses: { keys, quorum: 1 } }).ok).toBe(false);
    // One witness listed twice is one cosignature, not two; a quorum must be at least 1.
    expect(verifyReceipt(once, { verifierKey }, { witnesses: { keys: [keys[0]!, keys[0]!], quorum: 2 } }).ok).toBe(false);
    expect(verifyReceipt(receipt, { verifierKey }, { witnesses: { keys, quorum: 0 } }).ok).toBe(false);
    expect(verifyReceipt(receipt, { verifierKey }, { witnesses: { keys, quorum: Number.NaN } }).ok).toBe(false);
  });
});

describe("verifyReceipt with a retired key (section 12)", () => {
  // The event was signed by a key retired since; the checkpoint by the key now in force.
  const { receipt } = buildReceipt(2, 4);
  const retired = createFixtureKey();
  const current = createFixtureKey(new Uint8Array(32).fill(7));
  const body = receipt.checkpoint.note.slice(0, receipt.checkpoint.note.lastIndexOf("\n\n") + 1);
  const resigned = { ...receipt, checkpoint: { ...receipt.checkpoint, note: signNote(current, body) }, publicKey: current.verifierKey };

  it("verifies with the set of current and retired keys, whatever their order", () => {
    expect(verifyReceipt(resigned, [{ verifierKey: retired.verifierKey }, { verifierKey: current.verifierKey }])).toEqual({ ok: true });
    expect(verifyReceipt(resigned, [{ verifierKey: current.verifierKey }, { publicKey: retired.publicKey }])).toEqual({ ok: true });
  });

  it("fails when either key is missing from the trusted set", () => {
    expect(verifyReceipt(resigned, [{ verifierKey: current.verifierKey }]).ok).toBe(false);
    expect(verifyReceipt(resigned, { verifierKey: retired.verifierKey }).ok).toBe(false);
    expect(verifyReceipt(resigned, []).ok).toBe(false);
  });

  it("compares the publicKey hint as key bytes: another spelling of a trusted key's text is still refused if it is not that key", () => {
    const other = createFixtureKey(new Uint8Array(32).fill(9));
    expect(verifyReceipt({ ...resigned, publicKey: other.verifierKey }, [{ verifierKey: retired.verifierKey }, { verifierKey: current.verifierKey }]).ok).toBe(false);
    // The raw key of the current key as the trusted input: same bytes, so the hint matches.
    expect(verifyReceipt(resigned, [{ verifierKey: retired.verifierKey }, { publicKey: toBase64(current.publicKey) }])).toEqual({ ok: true });
  });
});
