import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  consistencyProofOf,
  createSubtreeHashReader,
  EMPTY_ROOT,
  fromHex,
  generateConsistencyProof,
  generateInclusionProof,
  inclusionProofOf,
  leafHash,
  merkleRootOf,
  nodeHash,
  sha256,
  toHex,
  utf8,
  verifyConsistencyProof,
  verifyInclusionProof,
  type SubtreeHashReader,
} from "../../../src/core/index.js";

// RFC 6962 / RFC 9162 reference data, as published by Certificate Transparency and
// transparency-dev/merkle (testonly/constants.go, proof/verify_test.go).
const h = (hex: string): Uint8Array => fromHex(hex)!;
const REF_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((x) => leafHash(h(x)));
const REF_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map(h);
// [leafIndex (0-based), treeSize, proof]
const REF_INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];
// [size1, size2, proof]
const REF_CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
  [6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
];
const SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456");

const leavesOf = (n: number, tag = "leaf"): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(sha256(utf8(`${tag}-${i}`))));

/** The RFC 9162 definitions (MTH, PATH, SUBPROOF) verbatim over slices: the oracle. */
function createNaive(leaves: readonly Uint8Array[]) {
  const memo = new Map<string, Uint8Array>();
  const mth = (start: number, end: number): Uint8Array => {
    const id = `${start}:${end}`;
    let hit = memo.get(id);
    if (!hit) memo.set(id, (hit = merkleRootOf(leaves.slice(start, end))));
    return hit;
  };
  const split = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
  const path = (m: number, start: number, end: number): Uint8Array[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = split(n);
    return m < k ? [...path(m, start, start + k), mth(start + k, end)] : [...path(m - k, start + k, end), mth(start, start + k)];
  };
  const subproof = (m: number, start: number, end: number, b: boolean): Uint8Array[] => {
    const n = end - start;
    if (m === n) return b ? [] : [mth(start, end)];
    const k = split(n);
    return m <= k ? [...subproof(m, start, start + k, b), mth(start + k, end)] : [...subproof(m - k, start + k, end, false), mth(start, start + k)];
  };
  return {
    root: (size: number) => mth(0, size),
    inclusion: (m: number, size: number) => path(m, 0, size),
    consistency: (m: number, size: number) => (m === 0 || m === size ? [] : subproof(m, 0, size, true)),
  };
}

/** The left/right walk RFC 9162 verification takes: two (index, size) with equal walks hash identically. */
function inclusionWalk(index: number, size: number): string {
  let fn = index;
  let sn = size - 1;
  let walk = "";
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      walk += "L";
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else walk += "R";
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return walk;
}

function consistencyWalk(size1: number, size2: number): string {
  let walk = (size1 & (size1 - 1)) === 0 ? "P" : "";
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      walk += "B";
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else walk += "S";
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return walk;
}

/** A reader that records what it was asked and insists on perfect, aligned, in-range subtrees. */
function recordingReader(leaves: readonly Uint8Array[], size: number) {
  const inner = createSubtreeHashReader(leaves);
  const asked: string[] = [];
  const read: SubtreeHashReader = (start, end) => {
    const n = end - start;
    expect(n > 0 && (n & (n - 1)) === 0 && start % n === 0 && end <= size, `[${start}, ${end}) in a tree of ${size}`).toBe(true);
    asked.push(`${start}-${end}`);
    return inner(start, end);
  };
  return { read, asked };
}

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = bytes.slice();
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
};

describe("Merkle proofs: RFC 6962/9162 reference vectors", () => {
  it.each(REF_INCLUSION)("inclusion of leaf %i in a tree of size %i", (index, size, hexes) => {
    const proof = hexes.map(h);
    const root = REF_ROOTS[size]!;
    expect(verifyInclusionProof(index, size, REF_LEAVES[index]!, proof, root)).toEqual({ ok: true });
    expect(inclusionProofOf(REF_LEAVES, index, size).map(toHex)).toEqual(hexes);
    // The probes transparency-dev runs against every reference proof.
    const rejected = [
      [index - 1, size, REF_LEAVES[index]!, proof, root],
      [index + 1, size, REF_LEAVES[index]!, proof, root],
      [index ^ 2, size, REF_LEAVES[index]!, proof, root],
      [index, size * 2, REF_LEAVES[index]!, proof, root],
      [index, Math.floor(size / 2), REF_LEAVES[index]!, proof, root],
      [index, size, utf8("WrongLeaf"), proof, root],
      [index, size, SOME_HASH, proof, root],
      [index, size, REF_LEAVES[index]!, proof, EMPTY_ROOT],
      [index, size, REF_LEAVES[index]!, proof, SOME_HASH],
      [index, size, REF_LEAVES[index]!, [...proof, new Uint8Array(0)], root],
      [index, size, REF_LEAVES[index]!, [...proof, root], root],
      [index, size, REF_LEAVES[index]!, [new Uint8Array(0), ...proof], root],
      [index, size, REF_LEAVES[index]!, [root, ...proof], root],
      ...proof.map((_, i) => [index, size, REF_LEAVES[index]!, proof.map((p, j) => (i === j ? flipBit(p, 3) : p)), root]),
      ...(proof.length > 0 ? [[index, size, REF_LEAVES[index]!, proof.slice(0, -1), root]] : []),
      ...(proof.length > 1 ? [[index, size, REF_LEAVES[index]!, [proof[0]!, SOME_HASH, ...proof.slice(1)], root]] : []),
    ] as [number, number, Uint8Array, Uint8Array[], Uint8Array][];
    for (const [i, s, leaf, p, r] of rejected) expect(verifyInclusionProof(i, s, leaf, p, r).ok, `index ${i} size ${s} proof ${p.length}`).toBe(false);
  });

  it.each(REF_CONSISTENCY)("consistency from size %i to %i", (size1, size2, hexes) => {
    const proof = hexes.map(h);
    const [root1, root2] = [REF_ROOTS[size1]!, REF_ROOTS[size2]!];
    expect(verifyConsistencyProof(size1, size2, root1, root2, proof)).toEqual({ ok: true });
    expect(consistencyProofOf(REF_LEAVES, size1, size2).map(toHex)).toEqual(hexes);
    if (proof.length === 0) return;
    const rejected = [
      [size1 - 1, size2, root1, root2, proof],
      [size1 + 1, size2, root1, root2, proof],
      [size1 ^ 2, size2, root1, root2, proof],
      [size1, size2 * 2, root1, root2, proof],
      [size1, Math.floor(size2 / 2), root1, root2, proof],
      [size1, size2, utf8("WrongRoot"), root2, proof],
      [size1, size2, root1, utf8("WrongRoot"), proof],
      [size1, size2, root2, root1, proof],
      [size1, size2, root1, root2, []],
      [size1, size2, root1, root2, [...proof, new Uint8Array(0)]],
      [size1, size2, root1, root2, [...proof, root1]],
      [size1, size2, root1, root2, [...proof, root2]],
      [size1, size2, root1, root2, [new Uint8Array(0), ...proof]],
      [size1, size2, root1, root2, [root1, ...proof]],
      [size1, size2, root1, root2, [root2, ...proof]],
      [size1, size2, root1, root2, [proof[0]!, ...proof]],
      [size1, size2, root1, root2, proof.slice(0, -1)],
      ...proof.map((_, i) => [size1, size2, root1, root2, proof.map((p, j) => (i === j ? flipBit(p, 4) : p))]),
    ] as [number, number, Uint8Array, Uint8Array, Uint8Array[]][];
    for (const [s1, s2, r1, r2, p] of rejected) expect(verifyConsistencyProof(s1, s2, r1, r2, p).ok, `${s1}->${s2} proof ${p.length}`).toBe(false);
  });

  it("handles the degenerate sizes as transparency-dev does, and size 0 strictly", () => {
    const [r1, r2] = [utf8("don't care 1"), utf8("don't care 2")].map((b) => sha256(b));
    expect(verifyConsistencyProof(0, 0, EMPTY_ROOT, EMPTY_ROOT, []).ok).toBe(true);
    expect(verifyConsistencyProof(1, 1, r2!, r2!, []).ok).toBe(true);
    expect(verifyConsistencyProof(0, 1, EMPTY_ROOT, r2!, []).ok).toBe(true);
    expect(verifyConsistencyProof(0, 1, r1!, r2!, []).ok).toBe(false); // Go accepts any root1 here.
    expect(verifyConsistencyProof(0, 0, r1!, r2!, []).ok).toBe(false);
    expect(verifyConsistencyProof(1, 1, r1!, r2!, []).ok).toBe(false);
    expect(verifyConsistencyProof(1, 0, r1!, r2!, []).ok).toBe(false);
    expect(verifyConsistencyProof(2, 1, r1!, r2!, []).ok).toBe(false);
    expect(verifyConsistencyProof(1, 2, r1!, r2!, []).ok).toBe(false);
    expect(verifyConsistencyProof(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]).ok).toBe(false);
    expect(verifyConsistencyProof(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]).ok).toBe(false);
    expect(verifyConsistencyProof(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]).ok).toBe(false);
    for (const [i, s] of [[0, 0], [0, 1], [1, 0], [2, 1]] as const) {
      expect(verifyInclusionProof(i, s, SOME_HASH, [], new Uint8Array(0)).ok).toBe(false);
      expect(verifyInclusionProof(i, s, new Uint8Array(0), [], EMPTY_ROOT).ok).toBe(false);
      expect(verifyInclusionProof(i, s, SOME_HASH, [], EMPTY_ROOT).ok).toBe(false);
    }
    const single = leafHash(utf8("data"));
    expect(verifyInclusionProof(0, 1, single, [], single).ok).toBe(true);
    expect(verifyInclusionProof(0, 1, new Uint8Array(0), [], single).ok).toBe(false);
    expect(verifyInclusionProof(0, 1, single, [], new Uint8Array(0)).ok).toBe(false);
  });

  it("refuses non-integer, negative and unsafe indices and sizes", () => {
    const leaf = REF_LEAVES[0]!;
    for (const bad of [-1, 0.5, Number.NaN, Infinity, 2 ** 53]) {
      expect(verifyInclusionProof(bad, 8, leaf, [], leaf).ok).toBe(false);
      expect(verifyInclusionProof(0, bad, leaf, [], leaf).ok).toBe(false);
      expect(verifyConsistencyProof(bad, 8, leaf, leaf, [leaf]).ok).toBe(false);
      expect(verifyConsistencyProof(1, bad, leaf, leaf, [leaf]).ok).toBe(false);
      expect(() => generateInclusionProof(bad, 8, createSubtreeHashReader(REF_LEAVES))).toThrow(RangeError);
      expect(() => generateConsistencyProof(1, bad, createSubtreeHashReader(REF_LEAVES))).toThrow(RangeError);
    }
    expect(() => generateInclusionProof(8, 8, createSubtreeHashReader(REF_LEAVES))).toThrow(RangeError);
    expect(() => generateConsistencyProof(5, 4, createSubtreeHashReader(REF_LEAVES))).toThrow(RangeError);
    expect(() => inclusionProofOf(REF_LEAVES, 0, 9)).toThrow(RangeError);
    expect(() => consistencyProofOf(REF_LEAVES, 1, 9)).toThrow(RangeError);
  });
});

describe("Merkle proofs: generation reads only stored perfect subtrees", () => {
  // Node ids (level, index) from transparency-dev's proof tables, as leaf ranges
  // [index * 2^level, (index + 1) * 2^level).
  const ids = (...nodes: [number, number][]): string[] => nodes.map(([level, index]) => `${index * 2 ** level}-${(index + 1) * 2 ** level}`).sort();
  const sixteen = leavesOf(96, "ids");

  it.each([
    [7, 0, ids([0, 1], [1, 1], [0, 6], [1, 2])],
    [7, 3, ids([0, 2], [1, 0], [0, 6], [1, 2])],
    [7, 4, ids([0, 5], [0, 6], [2, 0])],
    [7, 6, ids([1, 2], [2, 0])],
    [5, 3, ids([0, 2], [1, 0], [0, 4])],
    [6, 4, ids([0, 5], [2, 0])],
    [15, 10, ids([0, 11], [1, 4], [0, 14], [1, 6], [3, 0])],
    [31, 24, ids([0, 25], [1, 13], [0, 30], [1, 14], [3, 2], [4, 0])],
    [95, 81, ids([0, 80], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0])],
  ])("inclusion in size %i of leaf %i", (size, index, expected) => {
    const { read, asked } = recordingReader(sixteen, size);
    generateInclusionProof(index, size, read);
    expect(asked.sort()).toEqual(expected);
  });

  it.each([
    [1, 2, ids([0, 1])],
    [1, 6, ids([0, 1], [1, 1], [1, 2])],
    [2, 8, ids([1, 1], [2, 1])],
    [3, 7, ids([0, 2], [0, 3], [1, 0], [0, 6], [1, 2])],
    [4, 7, ids([0, 6], [1, 2])],
    [5, 7, ids([0, 4], [0, 5], [0, 6], [2, 0])],
    [6, 7, ids([1, 2], [0, 6], [2, 0])],
    [7, 8, ids([0, 6], [0, 7], [1, 2], [2, 0])],
    [10, 15, ids([1, 4], [1, 5], [0, 14], [1, 6], [3, 0])],
    [24, 31, ids([3, 2], [0, 30], [1, 14], [2, 6], [4, 0])],
    [81, 95, ids([0, 80], [0, 81], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0])],
  ])("consistency from %i to %i", (size1, size2, expected) => {
    const { read, asked } = recordingReader(sixteen, size2);
    generateConsistencyProof(size1, size2, read);
    expect(asked.sort()).toEqual(expected);
  });
});

describe("Merkle proofs: oracle against the RFC 9162 definitions", () => {
  it("every inclusion proof up to size 300 equals PATH and verifies", () => {
    const leaves = leavesOf(300);
    const naive = createNaive(leaves);
    const read = createSubtreeHashReader(leaves);
    for (let size = 1; size <= 300; size++) {
      const root = naive.root(size);
      for (let index = 0; index < size; index++) {
        const proof = generateInclusionProof(index, size, read);
        const expected = naive.inclusion(index, size);
        if (proof.length !== expected.length || proof.some((p, i) => toHex(p) !== toHex(expected[i]!))) {
          expect(proof.map(toHex), `index ${index} size ${size}`).toEqual(expected.map(toHex));
        }
        if (!verifyInclusionProof(index, size, leaves[index]!, proof, root).ok) expect.fail(`index ${index} size ${size} does not verify`);
      }
    }
  }, 120_000);

  it("every consistency proof up to size 300 equals PROOF and verifies", () => {
    const leaves = leavesOf(300);
    const naive = createNaive(leaves);
    const read = createSubtreeHashReader(leaves);
    for (let size2 = 0; size2 <= 300; size2++) {
      const root2 = naive.root(size2);
      for (let size1 = 0; size1 <= size2; size1++) {
        const proof = generateConsistencyProof(size1, size2, read);
        const expected = naive.consistency(size1, size2);
        if (proof.length !== expected.length || proof.some((p, i) => toHex(p) !== toHex(expected[i]!))) {
          expect(proof.map(toHex), `${size1} -> ${size2}`).toEqual(expected.map(toHex));
        }
        if (!verifyConsistencyProof(size1, size2, naive.root(size1), root2, proof).ok) expect.fail(`${size1} -> ${size2} does not verify`);
      }
    }
  }, 120_000);

  it("random pairs up to 100,000 leaves equal PATH / PROOF and verify", () => {
    const N = 100_000;
    const leaves = leavesOf(N, "big");
    const naive = createNaive(leaves);
    const read = createSubtreeHashReader(leaves);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: N }), fc.nat(), fc.nat(), (size, a, b) => {
        const index = a % size;
        const proof = generateInclusionProof(index, size, read);
        expect(proof.map(toHex)).toEqual(naive.inclusion(index, size).map(toHex));
        expect(verifyInclusionProof(index, size, leaves[index]!, proof, naive.root(size))).toEqual({ ok: true });
        const size1 = b % (size + 1);
        const consistency = generateConsistencyProof(size1, size, read);
        expect(consistency.map(toHex)).toEqual(naive.consistency(size1, size).map(toHex));
        expect(verifyConsistencyProof(size1, size, naive.root(size1), naive.root(size), consistency)).toEqual({ ok: true });
      }),
      { numRuns: 40 },
    );
  }, 240_000);

  it("agrees with the incremental accumulator's root for large sizes", () => {
    const leaves = leavesOf(5000, "acc");
    const read = createSubtreeHashReader(leaves);
    const proof = generateInclusionProof(4321, 5000, read);
    expect(verifyInclusionProof(4321, 5000, leaves[4321]!, proof, merkleRootOf(leaves))).toEqual({ ok: true });
  });
});

describe("Merkle proofs: every corruption is rejected (property)", () => {
  const leaves = leavesOf(300, "corrupt");
  const naive = createNaive(leaves);
  const read = createSubtreeHashReader(leaves);
  const sizeAndIndex = fc.integer({ min: 1, max: 300 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
  const sizes = fc.integer({ min: 2, max: 300 }).chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 - 1 }), fc.constant(size2)));
  const bit = fc.integer({ min: 0, max: 255 });

  it("inclusion: a flipped bit in any proof node, the leaf or the root", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), bit, fc.constantFrom("proof", "leaf", "root"), ([size, index], which, b, target) => {
        const proof = generateInclusionProof(index, size, read);
        let [leaf, root, p] = [leaves[index]!, naive.root(size), proof];
        if (target === "leaf") leaf = flipBit(leaf, b);
        else if (target === "root") root = flipBit(root, b);
        else if (proof.length > 0) p = proof.map((x, i) => (i === which % proof.length ? flipBit(x, b) : x));
        else root = flipBit(root, b);
        expect(verifyInclusionProof(index, size, leaf, p, root).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("inclusion: any other index or size is rejected unless it walks the identical path", () => {
    let rejected = 0;
    fc.assert(
      fc.property(sizeAndIndex, fc.integer({ min: -2, max: 700 }), fc.boolean(), ([size, index], other, moveIndex) => {
        const proof = generateInclusionProof(index, size, read);
        const [i, s] = moveIndex ? [other, size] : [index, other];
        if (i === index && s === size) return;
        const verdict = verifyInclusionProof(i, s, leaves[index]!, proof, naive.root(size));
        // RFC 9162 proofs commit to the size only through their shape: a tree of another
        // size whose walk is identical hashes identically (checkpoints bind the size).
        if (verdict.ok) expect(i >= 0 && i < s && inclusionWalk(i, s) === inclusionWalk(index, size)).toBe(true);
        else rejected++;
      }),
      { numRuns: 1000 },
    );
    expect(rejected).toBeGreaterThan(900);
  });

  it("inclusion: truncated, extended or reordered proofs", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom("drop", "append", "prepend", "insert", "swap"), ([size, index], at, extra, how) => {
        const proof = generateInclusionProof(index, size, read);
        let p: Uint8Array[];
        if (how === "drop") {
          if (proof.length === 0) return;
          p = proof.filter((_, i) => i !== at % proof.length);
        } else if (how === "append") p = [...proof, extra];
        else if (how === "prepend") p = [extra, ...proof];
        else if (how === "insert") p = [...proof.slice(0, at % (proof.length + 1)), extra, ...proof.slice(at % (proof.length + 1))];
        else {
          if (proof.length < 2) return;
          const i = at % (proof.length - 1);
          if (toHex(proof[i]!) === toHex(proof[i + 1]!)) return;
          p = proof.slice();
          [p[i], p[i + 1]] = [p[i + 1]!, p[i]!];
        }
        expect(verifyInclusionProof(index, size, leaves[index]!, p, naive.root(size)).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("consistency: a flipped bit in any proof node or either root", () => {
    fc.assert(
      fc.property(sizes, fc.nat(), bit, fc.constantFrom("proof", "root1", "root2"), ([size1, size2], which, b, target) => {
        const proof = generateConsistencyProof(size1, size2, read);
        let [root1, root2, p] = [naive.root(size1), naive.root(size2), proof];
        if (target === "root1") root1 = flipBit(root1, b);
        else if (target === "root2") root2 = flipBit(root2, b);
        else p = proof.map((x, i) => (i === which % proof.length ? flipBit(x, b) : x));
        expect(verifyConsistencyProof(size1, size2, root1, root2, p).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("consistency: any other sizes are rejected unless they walk the identical path", () => {
    let rejected = 0;
    fc.assert(
      fc.property(sizes, fc.integer({ min: -2, max: 700 }), fc.boolean(), ([size1, size2], other, moveFirst) => {
        const proof = generateConsistencyProof(size1, size2, read);
        const [s1, s2] = moveFirst ? [other, size2] : [size1, other];
        if (s1 === size1 && s2 === size2) return;
        const verdict = verifyConsistencyProof(s1, s2, naive.root(size1), naive.root(size2), proof);
        if (verdict.ok) expect(s1 > 0 && s1 < s2 && consistencyWalk(s1, s2) === consistencyWalk(size1, size2)).toBe(true);
        else rejected++;
      }),
      { numRuns: 1000 },
    );
    expect(rejected).toBeGreaterThan(900);
  });

  it("consistency: truncated, extended or reordered proofs", () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom("drop", "append", "prepend", "insert", "swap", "empty"), ([size1, size2], at, extra, how) => {
        const proof = generateConsistencyProof(size1, size2, read);
        let p: Uint8Array[];
        if (how === "drop") p = proof.filter((_, i) => i !== at % proof.length);
        else if (how === "append") p = [...proof, extra];
        else if (how === "prepend") p = [extra, ...proof];
        else if (how === "insert") p = [...proof.slice(0, at % (proof.length + 1)), extra, ...proof.slice(at % (proof.length + 1))];
        else if (how === "empty") p = [];
        else {
          if (proof.length < 2) return;
          const i = at % (proof.length - 1);
          if (toHex(proof[i]!) === toHex(proof[i + 1]!)) return;
          p = proof.slice();
          [p[i], p[i + 1]] = [p[i + 1]!, p[i]!];
        }
        expect(verifyConsistencyProof(size1, size2, naive.root(size1), naive.root(size2), p).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("a proof node that is a hash of the right children in the wrong order is rejected", () => {
    const proof = generateInclusionProof(0, 4, read);
    const swapped = [proof[0]!, nodeHash(leaves[3]!, leaves[2]!)];
    expect(verifyInclusionProof(0, 4, leaves[0]!, proof, naive.root(4)).ok).toBe(true);
    expect(verifyInclusionProof(0, 4, leaves[0]!, swapped, naive.root(4)).ok).toBe(false);
  });
});
