// The golden files are the format's spec. This test recomputes every value from the
// inputs, spelling out the bytes as docs/verification.md does (tags, field order, prefix
// bytes) rather than trusting the helpers that produced them, and then checks that the
// core helpers agree. A failure here means the hashed format changed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  canonicalJson,
  computeDataHash,
  computeEventHash,
  createChainVerifier,
  eventHeaderJson,
  formatVerifierKey,
  fromBase64,
  fromHex,
  keyIdOf,
  consistencyProofOf,
  inclusionProofOf,
  merkleRootOf,
  parseVerifierKey,
  verifyConsistencyProof,
  verifyInclusionProof,
  toBase64,
  toHex,
  verifyEd25519,
  type EventHeader,
  type EventRecord,
} from "../../src/core/index.js";
import { generateVectors, vectorFileText, type VectorInput } from "../../scripts/generate-vectors.js";

interface EventVector {
  input: VectorInput;
  canonicalData: string;
  canonicalDataHex: string;
  dataHashHex: string;
  header: EventHeader;
  headerJson: string;
  hash: string;
  hashHex: string;
  signature: string;
  signatureHex: string;
  leafIndex: number;
  leafHashHex: string;
  rootAfterHex: string;
}

interface KeyVector {
  seedHex: string;
  publicKeyHex: string;
  publicKey: string;
  keyId: string;
  noteName: string;
  noteKeyHashHex: string;
  verifierKey: string;
}

interface CheckpointVector {
  treeSize: number;
  rootHash: string;
  rootHashHex: string;
  chainHead: string | null;
  body: string;
  signatureHex: string;
  note: string;
}

const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), "utf8")) as T;
const eventsFile = readJson<{ key: KeyVector; events: EventVector[] }>("events.json");
interface ProofVectors {
  treeSize: number;
  rootHashHex: string;
  inclusion: { position: number; leafIndex: number; leafHashHex: string; proofHex: string[] }[];
  consistency: { size1: number; root1Hex: string; proofHex: string[] }[];
}

const checkpointsFile = readJson<{ origin: string; key: KeyVector; checkpoints: CheckpointVector[]; proofs: ProofVectors }>("checkpoints.json");
const { key, events } = eventsFile;

const enc = new TextEncoder();
const ascii = (s: string): Uint8Array => enc.encode(s);
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const ZERO32 = toBase64(new Uint8Array(32));

describe("golden vectors: files", () => {
  it("are exactly what scripts/generate-vectors.ts writes", () => {
    const generated = generateVectors();
    expect(readFileSync(new URL("events.json", import.meta.url), "utf8")).toBe(vectorFileText(generated.events));
    expect(readFileSync(new URL("checkpoints.json", import.meta.url), "utf8")).toBe(vectorFileText(generated.checkpoints));
  });

  it("cover two streams, unicode data and nested metadata", () => {
    expect(new Set(events.map((e) => e.input.streamId)).size).toBe(2);
    expect(events.some((e) => [...e.canonicalData].some((c) => c.charCodeAt(0) > 0x7f))).toBe(true);
    expect(events.some((e) => Object.values(e.input.metadata).some((v) => typeof v === "object" && v !== null))).toBe(true);
  });
});

describe("golden vectors: key", () => {
  it("derives the public key, key id and note verifier key from the seed", () => {
    const publicKey = ed25519.getPublicKey(fromHex(key.seedHex)!);
    expect(toHex(publicKey)).toBe(key.publicKeyHex);
    // RFC 8032 section 7.1 TEST 1.
    expect(key.publicKeyHex).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    expect(key.keyId).toBe(toHex(sha256(publicKey).subarray(0, 8)));
    expect(keyIdOf(publicKey)).toBe(key.keyId);
    const noteKeyHash = sha256(cat(ascii(key.noteName), new Uint8Array([0x0a, 0x01]), publicKey)).subarray(0, 4);
    expect(toHex(noteKeyHash)).toBe(key.noteKeyHashHex);
    expect(key.verifierKey).toBe(`${key.noteName}+${key.noteKeyHashHex}+${toBase64(cat(new Uint8Array([1]), publicKey))}`);
    expect(formatVerifierKey(key.noteName, publicKey)).toBe(key.verifierKey);
    expect(parseVerifierKey(key.verifierKey)?.publicKey).toEqual(publicKey);
  });
});

describe("golden vectors: events", () => {
  const seed = fromHex(key.seedHex)!;
  const publicKey = fromHex(key.publicKeyHex)!;

  it.each(events.map((e, i) => [i + 1, e] as const))("event at position %i", (position, vector) => {
    const { input } = vector;
    const salt = fromHex(input.salt)!;
    expect(salt).toHaveLength(32);

    // Canonical data bytes (RFC 8785) and dataHash = SHA-256("annal/data/v1" 0x00 || salt || data).
    expect(canonicalJson(input.data)).toBe(vector.canonicalData);
    expect(toHex(ascii(vector.canonicalData))).toBe(vector.canonicalDataHex);
    const dataHash = sha256(cat(ascii("annal/data/v1"), new Uint8Array([0]), salt, ascii(vector.canonicalData)));
    expect(toHex(dataHash)).toBe(vector.dataHashHex);
    expect(toHex(computeDataHash(salt, input.data))).toBe(vector.dataHashHex);

    // Header: links to the previous event overall and in its stream.
    const previous = events[position - 2];
    const previousInStream = events.slice(0, position - 1).filter((e) => e.input.streamId === input.streamId);
    const header = vector.header;
    expect(header).toEqual({
      position,
      streamId: input.streamId,
      streamVersion: previousInStream.length + 1,
      eventId: input.eventId,
      type: input.type,
      recordedAt: input.recordedAt,
      metadata: input.metadata,
      dataHash: toBase64(dataHash),
      prevHash: previous?.hash ?? ZERO32,
      streamPrevHash: previousInStream.at(-1)?.hash ?? ZERO32,
      keyId: key.keyId,
    });

    // Canonical header: exactly these twelve members, JCS-sorted.
    const headerJson = canonicalJson({ ...header, v: 1 });
    expect(headerJson).toBe(vector.headerJson);
    expect(Object.keys(JSON.parse(headerJson) as object)).toEqual([
      "dataHash", "eventId", "keyId", "metadata", "position", "prevHash", "recordedAt", "streamId", "streamPrevHash", "streamVersion", "type", "v",
    ]);
    expect(eventHeaderJson(header)).toBe(vector.headerJson);

    // hash = SHA-256("annal/event/v1" 0x00 || header bytes); Ed25519 signs those 32 bytes.
    const hash = sha256(cat(ascii("annal/event/v1"), new Uint8Array([0]), ascii(headerJson)));
    expect(toHex(hash)).toBe(vector.hashHex);
    expect(toBase64(hash)).toBe(vector.hash);
    expect(computeEventHash(header)).toEqual(hash);
    expect(toHex(ed25519.sign(hash, seed))).toBe(vector.signatureHex);
    expect(toBase64(fromHex(vector.signatureHex)!)).toBe(vector.signature);
    expect(verifyEd25519(publicKey, hash, fromBase64(vector.signature)!)).toBe(true);

    // Merkle leaf: index = position - 1, hash = SHA-256(0x00 || event hash).
    expect(vector.leafIndex).toBe(position - 1);
    expect(toHex(sha256(cat(new Uint8Array([0]), hash)))).toBe(vector.leafHashHex);
    const leaves = events.slice(0, position).map((e) => fromHex(e.leafHashHex)!);
    expect(toHex(merkleRootOf(leaves))).toBe(vector.rootAfterHex);
  });

  it("verify as a chain with the core verifier", () => {
    const v = createChainVerifier({ publicKeys: new Map([[key.keyId, publicKey]]), verifySignature: verifyEd25519 });
    for (const e of events) {
      const record: EventRecord = { ...e.header, data: e.input.data, dataSalt: toBase64(fromHex(e.input.salt)!), hash: e.hash, signature: e.signature };
      expect(v.push(record)).toEqual({ ok: true });
    }
    expect(v.checkCheckpoint(checkpointsFile.checkpoints.at(-1)!.note, { name: key.noteName, publicKey }, checkpointsFile.origin)).toEqual({ ok: true });
  });
});

describe("golden vectors: checkpoints", () => {
  const seed = fromHex(key.seedHex)!;
  const publicKey = fromHex(key.publicKeyHex)!;
  const leaves = events.map((e) => fromHex(e.leafHashHex)!);

  it("has one checkpoint per tree size 0..n, sharing the events' key", () => {
    expect(checkpointsFile.key).toEqual(key);
    expect(checkpointsFile.checkpoints.map((c) => c.treeSize)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it.each(checkpointsFile.checkpoints.map((c) => [c.treeSize, c] as const))("checkpoint at size %i", (size, cp) => {
    // RFC 9162 root: hand-rolled MTH (k = largest power of two below n).
    const mth = (d: Uint8Array[]): Uint8Array => {
      if (d.length === 0) return sha256(new Uint8Array(0));
      if (d.length === 1) return d[0]!;
      let k = 1;
      while (k * 2 < d.length) k *= 2;
      return sha256(cat(new Uint8Array([1]), mth(d.slice(0, k)), mth(d.slice(k))));
    };
    const root = mth(leaves.slice(0, size));
    expect(toHex(root)).toBe(cp.rootHashHex);
    expect(cp.rootHash).toBe(toBase64(root));
    if (size > 0) expect(events[size - 1]!.rootAfterHex).toBe(cp.rootHashHex);

    const head = size === 0 ? null : events[size - 1]!.hash;
    expect(cp.chainHead).toBe(head);
    const body = `${checkpointsFile.origin}\n${size}\n${cp.rootHash}\n${head === null ? "" : `annal-chain-head ${head}\n`}`;
    expect(cp.body).toBe(body);

    const signature = ed25519.sign(ascii(body), seed);
    expect(toHex(signature)).toBe(cp.signatureHex);
    const sigLine = `\u2014 ${key.noteName} ${toBase64(cat(fromHex(key.noteKeyHashHex)!, signature))}\n`;
    expect(cp.note).toBe(`${body}\n${sigLine}`);
    expect(verifyEd25519(publicKey, ascii(body), signature)).toBe(true);
  });
});

describe("golden vectors: proofs against the last checkpoint", () => {
  const { proofs } = checkpointsFile;
  const leaves = events.map((e) => fromHex(e.leafHashHex)!);
  const root = fromHex(proofs.rootHashHex)!;

  it("cover the last checkpoint's size and root", () => {
    expect(proofs.treeSize).toBe(events.length);
    expect(proofs.rootHashHex).toBe(checkpointsFile.checkpoints.at(-1)!.rootHashHex);
  });

  it.each(proofs.inclusion.map((p) => [p.position, p] as const))("inclusion of the event at position %i", (position, p) => {
    expect(p.leafIndex).toBe(position - 1);
    expect(p.leafHashHex).toBe(events[position - 1]!.leafHashHex);
    const proof = p.proofHex.map((x) => fromHex(x)!);
    // Hand-rolled RFC 9162 2.1.3.2, so the golden proof does not lean on the code under test.
    let fn = p.leafIndex;
    let sn = proofs.treeSize - 1;
    let r = fromHex(p.leafHashHex)!;
    for (const node of proof) {
      expect(sn).toBeGreaterThan(0);
      if (fn % 2 === 1 || fn === sn) {
        r = sha256(cat(new Uint8Array([1]), node, r));
        while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
      } else r = sha256(cat(new Uint8Array([1]), r, node));
      [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    }
    expect(sn).toBe(0);
    expect(toHex(r)).toBe(proofs.rootHashHex);
    expect(verifyInclusionProof(p.leafIndex, proofs.treeSize, fromHex(p.leafHashHex)!, proof, root)).toEqual({ ok: true });
    expect(inclusionProofOf(leaves, p.leafIndex).map(toHex)).toEqual(p.proofHex);
  });

  it.each(proofs.consistency.map((p) => [p.size1, p] as const))("consistency from size %i", (size1, p) => {
    expect(p.root1Hex).toBe(checkpointsFile.checkpoints[size1]!.rootHashHex);
    const proof = p.proofHex.map((x) => fromHex(x)!);
    expect(verifyConsistencyProof(size1, proofs.treeSize, fromHex(p.root1Hex)!, root, proof)).toEqual({ ok: true });
    expect(consistencyProofOf(leaves, size1).map(toHex)).toEqual(p.proofHex);
  });
});
