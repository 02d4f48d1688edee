// The 5-event "fixture log" of docs/verification.md sections 11, 13 and 15: the chain of
// test/support/chain-fixture.ts (the public test key, stream orders-1, data {"n": position}),
// its tree, its checkpoint of size 5, a consistency proof and an export frontier, and a
// witness cosignature of that checkpoint. The first 3 events are the log of receipt.json.
// test/vectors/doc-examples.test.ts rebuilds it and compares it with fixture-log.json.
import { ed25519 } from "@noble/curves/ed25519.js";
import { consistencyProofOf, fromBase64, inclusionProofOf, leafHash, merkleRootOf, toBase64, toHex } from "../../src/core/index.js";
import { cosign, cosignedMessage, formatCosignerVerifierKey } from "../../src/verify/cosignature.js";
import { createChainBuilder } from "../support/chain-fixture.js";

export const WITNESS_SEED = new Uint8Array(32).fill(0x2a);
export const WITNESS_NAME = "witness.example/w1";
export const COSIGNED_AT = 1767225600;

export function buildFixtureLog(): Record<string, unknown> {
  const builder = createChainBuilder();
  for (let i = 0; i < 5; i++) builder.append({ streamId: "orders-1" });
  const { key, records } = builder;
  const leaves = records.map((r) => leafHash(fromBase64(r.hash)!));
  const { body, note } = builder.checkpoint();
  const witnessPublicKey = ed25519.getPublicKey(WITNESS_SEED);
  const cosigner = { name: WITNESS_NAME, publicKey: witnessPublicKey, sign: (m: Uint8Array) => ed25519.sign(m, WITNESS_SEED) };
  return {
    description:
      "The fixture log of docs/verification.md sections 11, 13 and 15: 5 events of stream orders-1 by the public test key of test/support/chain-fixture.ts (seed 01 02 .. 20). Base64 unless named Hex.",
    key: { seedHex: toHex(key.seed), publicKeyHex: toHex(key.publicKey), publicKey: toBase64(key.publicKey), keyId: key.keyId, noteName: key.noteName, verifierKey: key.verifierKey },
    records,
    leafHashes: leaves.map(toBase64),
    roots: [1, 2, 3, 4, 5].map((n) => ({ treeSize: n, rootHash: toBase64(merkleRootOf(leaves.slice(0, n))) })),
    checkpoint: { treeSize: 5, body, note },
    consistency3to5: consistencyProofOf(leaves, 3, 5).map(toBase64),
    inclusion5in5: inclusionProofOf(leaves, 4, 5).map(toBase64),
    // `annal export --from 3`: the right edge of the tree of size 2.
    exportFrom3Frontier: [toBase64(merkleRootOf(leaves.slice(0, 2)))],
    constants: {
      dataTagHex: toHex(new TextEncoder().encode("annal/data/v1")),
      eventTagHex: toHex(new TextEncoder().encode("annal/event/v1")),
      zeroHash: toBase64(new Uint8Array(32)),
      emptyTreeRootHex: toHex(merkleRootOf([])),
    },
    witness: {
      name: WITNESS_NAME,
      seedHex: toHex(WITNESS_SEED),
      publicKeyHex: toHex(witnessPublicKey),
      verifierKey: formatCosignerVerifierKey(WITNESS_NAME, witnessPublicKey),
      time: COSIGNED_AT,
      message: new TextDecoder().decode(cosignedMessage(body, COSIGNED_AT)),
      line: cosign(body, cosigner, COSIGNED_AT),
    },
  };
}
