import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { consistencyProofOf, createMerkleAccumulator, decodeHash, fromBase64, inclusionProofOf, leafHash, toBase64 } from "../../../src/core/index.js";
import {
  createRangeVerifier,
  frontierFromInclusionProof,
  parseTrustedKey,
  verifyCheckpointNote,
  verifyConsistency,
  verifyEvent,
  verifyInclusion,
  type TrustedKey,
} from "../../../src/verify/index.js";
import { createChainBuilder, signNote } from "../../support/chain-fixture.js";

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function chain(size: number) {
  const builder = createChainBuilder();
  for (let i = 1; i <= size; i++) builder.append({ streamId: `s-${i % 3}` });
  const key = parseTrustedKey(builder.key.verifierKey) as TrustedKey;
  const leaves = builder.records.map((r) => leafHash(decodeHash(r.hash)!));
  return { builder, key, leaves };
}

/** S + L: the same signature spelled a second way (malleability). */
function malleate(signatureB64: string): string {
  const sig = fromBase64(signatureB64)!;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const out = sig.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return toBase64(out);
}

describe("annal/verify is pure", () => {
  it("bundles for the browser with no node: imports", async () => {
    const result = await build({ entryPoints: ["src/verify/index.ts"], bundle: true, platform: "browser", format: "esm", write: false, metafile: true, logLevel: "silent" });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => path.startsWith("node:") || /(^|\/)(pg|pino|hono|kafkajs|minio)\//.test(path))).toEqual([]);
    const output = Object.values(result.metafile.outputs)[0]!;
    expect(output.imports.filter((i) => i.external)).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/from\s+["']node:|require\(["']node:/);
  });
});

describe("verifyEvent and verifyCheckpointNote", () => {
  const { builder, key } = chain(4);
  const record = builder.records[1]!;

  it("accepts a good event and checkpoint", () => {
    expect(verifyEvent(record, key)).toEqual({ ok: true });
    const cp = verifyCheckpointNote(builder.checkpoint().note, key);
    expect(cp.ok && cp.checkpoint.treeSize).toBe(4);
  });

  it("rejects malleable signatures (S >= L) on events and checkpoints", () => {
    expect(verifyEvent({ ...record, signature: malleate(record.signature) }, key).ok).toBe(false);
    const note = builder.checkpoint().note;
    const line = note.slice(note.lastIndexOf("— "));
    const bytes = fromBase64(line.slice(line.lastIndexOf(" ") + 1, -1))!;
    const sig = malleate(toBase64(bytes.slice(4)));
    const forged = note.slice(0, note.lastIndexOf(" ") + 1) + toBase64(new Uint8Array([...bytes.slice(0, 4), ...fromBase64(sig)!])) + "\n";
    expect(verifyCheckpointNote(forged, key).ok).toBe(false);
  });

  it("rejects a checkpoint by an untrusted key, another origin, or a body that is not a checkpoint", () => {
    const other = chain(1).builder;
    expect(verifyCheckpointNote(builder.checkpoint().note, parseTrustedKey(toBase64(new Uint8Array(32).fill(7))) as TrustedKey).ok).toBe(false);
    expect(verifyCheckpointNote(builder.checkpoint().note, key, { origin: "elsewhere" }).ok).toBe(false);
    expect(verifyCheckpointNote(signNote(other.key, "hello\n"), key).ok).toBe(false);
  });
});

describe("verifyInclusion and verifyConsistency over wire hashes", () => {
  const { leaves, builder } = chain(11);
  const root = (n: number) => toBase64(createSubRoot(leaves, n));

  it("accept every proof of an 11-leaf tree and reject malformed ones", () => {
    for (let size = 1; size <= 11; size++) {
      for (let i = 0; i < size; i++) {
        const auditPath = inclusionProofOf(leaves, i, size).map(toBase64);
        const eventHashFor = (j: number) => builder.records[j]!.hash;
        expect(verifyInclusion({ eventHash: eventHashFor(i), leafIndex: i, treeSize: size, auditPath, rootHash: root(size) })).toEqual({ ok: true });
        if (auditPath.length > 0) {
          expect(verifyInclusion({ eventHash: eventHashFor(i), leafIndex: i, treeSize: size, auditPath: [...auditPath.slice(1)], rootHash: root(size) }).ok).toBe(false);
          expect(verifyInclusion({ eventHash: eventHashFor(i), leafIndex: i, treeSize: size, auditPath: [auditPath[0]!.slice(0, -2) + "=="], rootHash: root(size) }).ok).toBe(false);
        }
        expect(verifyInclusion({ eventHash: eventHashFor(i), leafIndex: i, treeSize: size, auditPath: [...auditPath, auditPath[0] ?? root(1)], rootHash: root(size) }).ok).toBe(false);
      }
      for (let from = 1; from <= size; from++) {
        const path = consistencyProofOf(leaves, from, size).map(toBase64);
        expect(verifyConsistency({ from, to: size, fromRoot: root(from), toRoot: root(size), path })).toEqual({ ok: true });
        if (from < size) expect(verifyConsistency({ from, to: size, fromRoot: root(size), toRoot: root(from), path }).ok).toBe(false);
      }
    }
    expect(verifyInclusion({ eventHash: "x", leafIndex: 0, treeSize: 1, auditPath: [], rootHash: root(1) }).ok).toBe(false);
    expect(verifyConsistency({ from: 1, to: 2, fromRoot: root(1), toRoot: root(2), path: "nope" as unknown as string[] }).ok).toBe(false);
  });
});

function createSubRoot(leaves: Uint8Array[], n: number): Uint8Array {
  const acc = createMerkleAccumulator();
  for (const leaf of leaves.slice(0, n)) acc.append(leaf);
  return acc.root();
}

describe("range verification (exports)", () => {
  it("derives the frontier of any size from an inclusion proof", () => {
    const { leaves } = chain(37);
    const acc = createMerkleAccumulator();
    for (let i = 0; i < 37; i++) {
      for (const size of [i + 1, 37]) {
        expect(frontierFromInclusionProof(i, size, inclusionProofOf(leaves, i, size)).map(toBase64)).toEqual(acc.frontier().hashes.map(toBase64));
      }
      acc.append(leaves[i]!);
    }
  });

  it("verifies a run from the middle against its own checkpoint and, with a consistency proof, a later one", () => {
    const { builder, key, leaves } = chain(20);
    const later = builder.checkpoint().note;
    const from = 6;
    const to = 13;
    const frontier = frontierFromInclusionProof(from - 1, 20, inclusionProofOf(leaves, from - 1, 20)).map(toBase64);
    const run = () => {
      const v = createRangeVerifier({ from, frontier }, [key]);
      for (const r of builder.records.slice(from - 1, to)) expect(v.push(r)).toEqual({ ok: true });
      return v;
    };
    expect(run().finish({ note: later }, consistencyProofOf(leaves, to, 20).map(toBase64))).toEqual({ ok: true });
    expect(run().finish({ note: later }, []).ok).toBe(false);
    const badFrontier = createRangeVerifier({ from, frontier: [...frontier].reverse() }, [key]);
    for (const r of builder.records.slice(from - 1, to)) badFrontier.push(r);
    expect(frontier).toHaveLength(2); // 5 = 0b101: subtrees of 4 and 1
    expect(badFrontier.finish({ note: later }, consistencyProofOf(leaves, to, 20).map(toBase64)).ok).toBe(false);
    const gap = createRangeVerifier({ from, frontier }, [key]);
    gap.push(builder.records[from - 1]!);
    expect(gap.push(builder.records[from + 1]!)).toMatchObject({ ok: false, position: from + 1 });
  });
});
