import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { blake3 } from "@noble/hashes/blake3.js";
import { describe, expect, it } from "vitest";
import { createLtHash, LTHASH_BYTES } from "../../src/core/index.js";
import { commitmentLabel, createRowExpander } from "../../src/projector/commitment.js";

const vectors = JSON.parse(readFileSync(new URL("projection-commitment.json", import.meta.url), "utf8")) as {
  empty: string;
  steps: Array<{ row: string; digest: string; expansionFirst16: string; stateSha256: string }>;
  all: { label: string; stateBase64: string };
  withoutSecondRow: string;
};

// A second, independent BLAKE3 (noble's, pure JS) for the expansion: the vectors do not
// just replay the code that wrote them.
const nobleExpand = (digest: Uint8Array) => blake3(digest, { dkLen: LTHASH_BYTES });
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();

describe("projection commitment vectors (docs/verification.md §17)", () => {
  it("the row digests and expansions match, with hash-wasm and with noble", async () => {
    const wasm = await createRowExpander();
    for (const step of vectors.steps) {
      const digest = sha256(Buffer.from(step.row, "utf8"));
      expect(digest.toString("hex")).toBe(step.digest);
      expect(Buffer.from(wasm(digest).subarray(0, 16)).toString("hex")).toBe(step.expansionFirst16);
      expect(Buffer.from(nobleExpand(digest)).equals(Buffer.from(wasm(digest)))).toBe(true);
    }
  });

  it("the state after each row, the label, and removal by subtraction", () => {
    const state = createLtHash(nobleExpand);
    expect(commitmentLabel(state.bytes())).toBe(vectors.empty);
    for (const step of vectors.steps) {
      state.add(Buffer.from(step.digest, "hex"));
      expect(sha256(state.bytes()).toString("hex")).toBe(step.stateSha256);
    }
    expect(commitmentLabel(state.bytes())).toBe(vectors.all.label);
    expect(Buffer.from(state.bytes()).toString("base64")).toBe(vectors.all.stateBase64);
    state.add(Buffer.from(vectors.steps[1]!.digest, "hex"), -1);
    expect(commitmentLabel(state.bytes())).toBe(vectors.withoutSecondRow);
    // Order does not matter: the other two rows added afresh give the same state.
    const other = createLtHash(nobleExpand);
    other.add(Buffer.from(vectors.steps[2]!.digest, "hex"));
    other.add(Buffer.from(vectors.steps[0]!.digest, "hex"));
    expect(commitmentLabel(other.bytes())).toBe(vectors.withoutSecondRow);
  });

  it("lanes wrap mod 2^16 and a multiplied add equals repeated adds", () => {
    const digest = sha256("x");
    const thrice = createLtHash(nobleExpand);
    thrice.add(digest, 3);
    const once = createLtHash(nobleExpand);
    for (let i = 0; i < 3; i++) once.add(digest);
    expect(thrice.equals(once)).toBe(true);
    thrice.add(digest, -3);
    expect(thrice.equals(createLtHash(nobleExpand))).toBe(true);
    expect(() => createLtHash(nobleExpand, new Uint8Array(5))).toThrow(RangeError);
  });
});
