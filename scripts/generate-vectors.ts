// Writes the golden test vectors (test/vectors/*.json): the byte-exact spec of Annal's
// event hashing, signing, Merkle tree and checkpoints. Every input is fixed (key seed,
// salts, times, ids), so running this twice gives identical files; a diff in them is a
// format change and must be deliberate.
//
//   node --import tsx scripts/generate-vectors.ts
import { writeFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  canonicalJson,
  computeDataHash,
  computeEventHash,
  consistencyProofOf,
  createMerkleAccumulator,
  eventHeaderJson,
  formatCheckpointBody,
  formatNote,
  formatVerifierKey,
  fromHex,
  inclusionProofOf,
  keyIdOf,
  leafHash,
  noteKeyHash,
  toBase64,
  toHex,
  utf8,
  ZERO_HASH,
  type EventHeader,
  type JsonObject,
  type JsonValue,
} from "../src/core/index.js";

/** RFC 8032 section 7.1, TEST 1 secret key: public, so anyone can re-derive the vectors. */
export const VECTOR_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
export const VECTOR_NOTE_NAME = "ledger.annal.example/vectors";
export const VECTOR_ORIGIN = "ledger.annal.example/vectors";

export interface VectorInput {
  streamId: string;
  type: string;
  eventId: string;
  recordedAt: string;
  data: JsonValue;
  metadata: JsonObject;
  /** 32 bytes, hex. */
  salt: string;
}

export const VECTOR_INPUTS: VectorInput[] = [
  {
    streamId: "account-42",
    type: "AccountOpened",
    eventId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e01",
    recordedAt: "2026-01-02T03:04:05.006Z",
    data: { owner: "Zoë Ångström", currency: "EUR", limits: { monthly: 20000, daily: 1000 } },
    metadata: { actor: "user:alice", correlationId: "c-0001" },
    salt: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  },
  {
    streamId: "account-42",
    type: "FundsDeposited",
    eventId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e02",
    recordedAt: "2026-01-02T03:04:06.000Z",
    data: { amount: 1250.5, memo: "salary 💰\nJanuary", ratio: 0.1, tags: [] },
    metadata: { actor: "service:payroll", trace: { spanId: "b7ad6b7169203331", parent: null, sampled: true } },
    salt: "2020202020202020202020202020202020202020202020202020202020202020",
  },
  {
    streamId: "order-7",
    type: "OrderPlaced",
    eventId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e03",
    recordedAt: "2026-01-02T03:04:07.250Z",
    data: {
      items: [
        { sku: "A-1", qty: 2, price: 19.99 },
        { sku: "B-2", qty: 1, price: 5 },
      ],
      "€": true,
      é: "U+00E9 sorts before U+20AC",
      "\u0001": "control key",
      "😀": "surrogate pair key sorts before U+FB33",
      "\ufb33": "dalet",
    },
    metadata: { actor: "user:bob", correlationId: "c-0002", causationId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e02" },
    salt: "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
  },
  {
    streamId: "account-42",
    type: "FundsWithdrawn",
    eventId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e04",
    recordedAt: "2026-01-02T03:04:08.000Z",
    data: { amount: -100, balanceAfter: 1150.5, quote: 'she said "ok" \\ done' },
    metadata: {},
    salt: "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
  },
  {
    streamId: "order-7",
    type: "OrderShipped",
    eventId: "0190c6a2-7b1e-7c3d-8e4f-5a6b7c8d9e05",
    recordedAt: "2026-01-02T03:04:09.999Z",
    data: { carrier: "日本郵便", tracking: "JP-123", delivered: false, weightKg: 1e-7, count: 9007199254740991 },
    metadata: { actor: "user:carol", nested: { a: [1, { b: [true, null] }], z: "last" } },
    salt: "5555555555555555555555555555555555555555555555555555555555555555",
  },
];

export function generateVectors() {
  const seed = fromHex(VECTOR_SEED_HEX)!;
  const publicKey = ed25519.getPublicKey(seed);
  const keyId = keyIdOf(publicKey);
  const tree = createMerkleAccumulator();
  const streams = new Map<string, { version: number; hash: string }>();
  let prevHash = toBase64(ZERO_HASH);

  const events = VECTOR_INPUTS.map((input, i) => {
    const salt = fromHex(input.salt)!;
    const stream = streams.get(input.streamId);
    const header: EventHeader = {
      position: i + 1,
      streamId: input.streamId,
      streamVersion: (stream?.version ?? 0) + 1,
      eventId: input.eventId,
      type: input.type,
      recordedAt: input.recordedAt,
      metadata: input.metadata,
      dataHash: toBase64(computeDataHash(salt, input.data)),
      prevHash,
      streamPrevHash: stream?.hash ?? toBase64(ZERO_HASH),
      keyId,
    };
    const hash = computeEventHash(header);
    const signature = ed25519.sign(hash, seed);
    const leaf = leafHash(hash);
    tree.append(leaf);
    streams.set(input.streamId, { version: header.streamVersion, hash: toBase64(hash) });
    prevHash = toBase64(hash);
    return {
      input,
      canonicalData: canonicalJson(input.data),
      canonicalDataHex: toHex(utf8(canonicalJson(input.data))),
      dataHashHex: toHex(computeDataHash(salt, input.data)),
      header,
      headerJson: eventHeaderJson(header),
      hash: toBase64(hash),
      hashHex: toHex(hash),
      signature: toBase64(signature),
      signatureHex: toHex(signature),
      leafIndex: i,
      leafHashHex: toHex(leaf),
      rootAfterHex: toHex(tree.root()),
    };
  });

  // One checkpoint per tree size, 0..n, re-deriving the roots from scratch.
  const sizes = createMerkleAccumulator();
  const checkpoints = [undefined, ...events].map((event, size) => {
    if (event) sizes.append(fromHex(event.leafHashHex)!);
    const checkpoint = { origin: VECTOR_ORIGIN, treeSize: size, rootHash: toBase64(sizes.root()), ...(event ? { chainHead: event.hash } : {}) };
    const body = formatCheckpointBody(checkpoint);
    const signature = ed25519.sign(utf8(body), seed);
    return {
      treeSize: size,
      rootHash: checkpoint.rootHash,
      rootHashHex: toHex(sizes.root()),
      chainHead: event?.hash ?? null,
      body,
      signatureHex: toHex(signature),
      note: formatNote(body, [{ name: VECTOR_NOTE_NAME, keyHash: noteKeyHash(VECTOR_NOTE_NAME, publicKey), signature }]),
    };
  });

  // Proofs against the final checkpoint: inclusion of every event, consistency from
  // every earlier size.
  const leaves = events.map((e) => fromHex(e.leafHashHex)!);
  const finalSize = leaves.length;
  const proofs = {
    treeSize: finalSize,
    rootHashHex: toHex(sizes.root()),
    inclusion: events.map((e) => ({ position: e.header.position, leafIndex: e.leafIndex, leafHashHex: e.leafHashHex, proofHex: inclusionProofOf(leaves, e.leafIndex, finalSize).map(toHex) })),
    consistency: checkpoints.map((c) => ({ size1: c.treeSize, root1Hex: c.rootHashHex, proofHex: consistencyProofOf(leaves, c.treeSize, finalSize).map(toHex) })),
  };

  const key = {
    seedHex: VECTOR_SEED_HEX,
    publicKeyHex: toHex(publicKey),
    publicKey: toBase64(publicKey),
    keyId,
    noteName: VECTOR_NOTE_NAME,
    noteKeyHashHex: toHex(noteKeyHash(VECTOR_NOTE_NAME, publicKey)),
    verifierKey: formatVerifierKey(VECTOR_NOTE_NAME, publicKey),
  };
  return {
    events: { description: "Annal event vectors: inputs, canonical bytes, hashes and Ed25519 signatures. See docs/verification.md.", formatVersion: 1, key, events },
    checkpoints: { description: "Annal checkpoint vectors: RFC 9162 roots after each event and C2SP signed-note checkpoints. See docs/verification.md.", origin: VECTOR_ORIGIN, key, checkpoints, proofs },
  };
}

export function vectorFileText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { events, checkpoints } = generateVectors();
  const dir = new URL("../test/vectors/", import.meta.url);
  writeFileSync(new URL("events.json", dir), vectorFileText(events));
  writeFileSync(new URL("checkpoints.json", dir), vectorFileText(checkpoints));
  console.log(`wrote ${events.events.length} events and ${checkpoints.checkpoints.length} checkpoints to test/vectors/`);
}
