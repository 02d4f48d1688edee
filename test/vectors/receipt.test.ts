import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { verifyReceipt } from "../../src/verify/index.js";

// The golden receipt is the format's spec: it must keep verifying, byte for byte, with
// nothing but the key printed beside it.
const golden = JSON.parse(readFileSync(new URL("./receipt.json", import.meta.url), "utf8")) as { verifierKey: string; receipt: { event: { data: unknown } } };

describe("golden receipt (test/vectors/receipt.json)", () => {
  it("verifies offline with its verifier key", () => {
    expect(verifyReceipt(golden.receipt, { verifierKey: golden.verifierKey })).toEqual({ ok: true });
  });

  it("fails once its payload changes", () => {
    const tampered = structuredClone(golden.receipt);
    tampered.event.data = { n: 3 };
    expect(verifyReceipt(tampered, { verifierKey: golden.verifierKey }).ok).toBe(false);
  });
});
