import { describe, expect, it } from "vitest";
import { appendSubtree, createMerkleAccumulator, EMPTY_ROOT, fromHex, leafHash, merkleRootOf, sha256, toHex, utf8 } from "../../../src/core/index.js";

// RFC 6962 reference inputs and roots, as used by Certificate Transparency and
// transparency-dev/merkle (testonly/constants.go). leafHash here is SHA-256(0x00 || d).
const REFERENCE_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) => fromHex(h)!);
const REFERENCE_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// The compact range (our frontier) after each size, from the same reference.
const NODE = {
  l0: ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "", "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7", "", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"],
  l1: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", "", "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"],
  l2: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  l3: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
const REFERENCE_FRONTIERS = [
  [],
  [NODE.l0[0]],
  [NODE.l1[0]],
  [NODE.l1[0], NODE.l0[2]],
  [NODE.l2],
  [NODE.l2, NODE.l0[4]],
  [NODE.l2, NODE.l1[2]],
  [NODE.l2, NODE.l1[2], NODE.l0[6]],
  [NODE.l3],
];

const leavesOf = (n: number, tag = "leaf"): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(sha256(utf8(`${tag}-${i}`))));

describe("Merkle tree: RFC 6962 reference vectors", () => {
  it("empty root is SHA-256 of nothing", () => {
    expect(toHex(EMPTY_ROOT)).toBe(REFERENCE_ROOTS[0]);
    expect(toHex(merkleRootOf([]))).toBe(REFERENCE_ROOTS[0]);
    expect(toHex(createMerkleAccumulator().root())).toBe(REFERENCE_ROOTS[0]);
  });

  it("leaf hash is SHA-256(0x00 || input)", () => {
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(REFERENCE_ROOTS[1]);
  });

  it("roots and frontiers for sizes 0..8 match the reference, naive and incremental", () => {
    const hashes = REFERENCE_LEAVES.map(leafHash);
    const acc = createMerkleAccumulator();
    for (let size = 0; size <= 8; size++) {
      if (size > 0) acc.append(hashes[size - 1]!);
      expect(toHex(merkleRootOf(hashes.slice(0, size)))).toBe(REFERENCE_ROOTS[size]);
      expect(toHex(acc.root())).toBe(REFERENCE_ROOTS[size]);
      expect(acc.frontier().hashes.map(toHex)).toEqual(REFERENCE_FRONTIERS[size]);
      expect(acc.size).toBe(size);
    }
  });
});

describe("Merkle accumulator: oracle against the naive root", () => {
  it("root equals merkleRootOf for every size 1..2000", () => {
    const leaves = leavesOf(2000);
    const acc = createMerkleAccumulator();
    for (let size = 1; size <= 2000; size++) {
      acc.append(leaves[size - 1]!);
      expect(toHex(acc.root()), `size ${size}`).toBe(toHex(merkleRootOf(leaves.slice(0, size))));
    }
  }, 120_000);

  it("a frontier restored at every size continues with the same roots", () => {
    const leaves = leavesOf(300, "restore");
    const roots: string[] = [];
    const full = createMerkleAccumulator();
    for (const leaf of leaves) {
      full.append(leaf);
      roots.push(toHex(full.root()));
    }
    const acc = createMerkleAccumulator();
    for (let size = 0; size < leaves.length; size++) {
      const restored = createMerkleAccumulator(structuredClone(acc.frontier()));
      expect(restored.size).toBe(size);
      for (let i = size; i < Math.min(size + 20, leaves.length); i++) {
        restored.append(leaves[i]!);
        expect(toHex(restored.root()), `restored at ${size}, size ${i + 1}`).toBe(roots[i]);
      }
      acc.append(leaves[size]!);
    }
  });

  it("does not alias the caller's frontier array", () => {
    const acc = createMerkleAccumulator();
    acc.append(leavesOf(1)[0]!);
    const frontier = acc.frontier();
    frontier.hashes.pop();
    expect(acc.frontier().hashes).toHaveLength(1);
  });

  it.each([
    [{ size: 3, hashes: [new Uint8Array(32)] }],
    [{ size: 0, hashes: [new Uint8Array(32)] }],
    [{ size: -1, hashes: [] }],
    [{ size: 1.5, hashes: [new Uint8Array(32)] }],
  ])("refuses an inconsistent frontier %#", (frontier) => {
    expect(() => createMerkleAccumulator(frontier)).toThrow(RangeError);
  });

  it("appendSubtree of aligned perfect subtrees gives the frontier and root of appending their leaves one by one", () => {
    const leaves = leavesOf(100);
    for (const width of [1, 2, 4, 8, 16]) {
      let frontier = { size: 0, hashes: [] as Uint8Array[] };
      for (let start = 0; start + width <= leaves.length; start += width) {
        frontier = appendSubtree(frontier, merkleRootOf(leaves.slice(start, start + width)), width);
        const oracle = createMerkleAccumulator();
        for (const leaf of leaves.slice(0, start + width)) oracle.append(leaf);
        expect(frontier.size).toBe(start + width);
        expect(frontier.hashes.map(toHex)).toEqual(oracle.frontier().hashes.map(toHex));
        expect(toHex(createMerkleAccumulator(frontier).root())).toBe(toHex(merkleRootOf(leaves.slice(0, start + width))));
      }
    }
  });

  it("refuses a subtree that is not aligned or not perfect", () => {
    const one = { size: 1, hashes: [new Uint8Array(32)] };
    expect(() => appendSubtree(one, new Uint8Array(32), 2)).toThrow(RangeError);
    expect(() => appendSubtree({ size: 0, hashes: [] }, new Uint8Array(32), 3)).toThrow(RangeError);
  });
});
