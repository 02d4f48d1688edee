import { describe, expect, it } from "vitest";
import { assertAppendRequest } from "../../../src/ledger/validate.js";

// The ledger and the HTTP edge share one Idempotency-Key rule (IDEMPOTENCY_KEY_PATTERN):
// a key the edge lets through must not be refused by the ledger behind it.
const request = (idempotencyKey: string) => ({ streamId: "s-1", idempotencyKey, events: [{ type: "Paid", data: 1 }] });

describe("Idempotency-Key rule", () => {
  it.each(["k", "order 1/attempt", "a".repeat(255), "~!@#$%^&*()"])("accepts %j", (key) => {
    expect(() => assertAppendRequest(request(key))).not.toThrow();
  });

  it.each(["", " leading", "trailing ", "a\tb", "clé", "a".repeat(256)])("refuses %j with ERR_INVALID_INPUT", (key) => {
    expect(() => assertAppendRequest(request(key))).toThrow(expect.objectContaining({ code: "ERR_INVALID_INPUT" }));
  });
});
