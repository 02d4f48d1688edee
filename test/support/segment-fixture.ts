// Two sealed segments built from fixed inputs (the fixture ledger key, a fixture witness,
// fixed salts and times): the golden vectors of test/vectors/segments/ and the input of
// the bundle tests. Event 5 is redacted, as a sealed segment may hold redacted events.
import { ed25519 } from "@noble/curves/ed25519.js";
import { createMerkleAccumulator, leafHash, fromBase64, type EventRecord } from "../../src/core/index.js";
import { buildBundle, type BuiltBundle } from "../../src/archive/build-bundle.js";
import { cosign, formatCosignerVerifierKey } from "../../src/verify/index.js";
import { createChainBuilder, createFixtureKey, type FixtureKey } from "./chain-fixture.js";

export const WITNESS_SEED = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
export const WITNESS_NAME = "witness.annal.example/w1";

export interface SegmentFixture {
  key: FixtureKey;
  witnessKey: string;
  records: EventRecord[];
  segments: BuiltBundle[];
}

export function buildSegmentFixture(): SegmentFixture {
  const key = createFixtureKey();
  const witnessPublic = ed25519.getPublicKey(WITNESS_SEED);
  const witness = { name: WITNESS_NAME, publicKey: witnessPublic, sign: (m: Uint8Array) => ed25519.sign(m, WITNESS_SEED) };
  const witnessKey = formatCosignerVerifierKey(WITNESS_NAME, witnessPublic);
  const chain = createChainBuilder(key);
  const streams = ["account-1", "account-2", "account-1", "orders-9", "account-2", "account-1", "orders-9"];
  const notes: string[] = [];
  streams.forEach((streamId, i) => {
    chain.append({ streamId, data: { n: i + 1, note: i === 4 ? "personal data, later redacted" : "ok" }, metadata: { actor: "user:alice" } });
    if (i + 1 === 3 || i + 1 === 7) {
      const cp = chain.checkpoint();
      notes.push(cp.note + cosign(cp.body, witness, 1_767_322_000 + i));
    }
  });
  const records = chain.records.map((r) => ({ ...r }));
  // Redaction removes the payload and its salt; the data hash (and so the chain) stays.
  const redacted = records[4]!;
  delete redacted.data;
  delete redacted.dataSalt;
  const keys = { ledger: [{ keyId: key.keyId, publicKey: Buffer.from(key.publicKey).toString("base64"), noteVerifierKey: key.verifierKey }], witnesses: [witnessKey] };
  const signer = { publicKey: key.publicKey, sign: (message: Uint8Array) => key.sign(message) };
  const first = buildBundle({ segment: 1, events: records.slice(0, 3), frontier: { size: 0, hashes: [] }, checkpointNote: notes[0]!, keys, previous: undefined }, signer);
  const tree = createMerkleAccumulator();
  for (const r of records.slice(0, 3)) tree.append(leafHash(fromBase64(r.hash)!));
  const second = buildBundle({ segment: 2, events: records.slice(3, 7), frontier: tree.frontier(), checkpointNote: notes[1]!, keys, previous: first.manifestHash }, signer);
  return { key, witnessKey, records, segments: [first, second] };
}
