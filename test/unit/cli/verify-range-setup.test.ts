import { describe, expect, it } from "vitest";
import { workerScript } from "../../../src/cli/verify-range-workers.js";
import { defaultRangeSize } from "../../../src/cli/verify-ranges.js";

describe("annal verify's range set-up", () => {
  it("sizes ranges as powers of two between 2^11 and 2^15, at least 16 per worker (64 with signatures) where the log allows", () => {
    for (const total of [0, 1, 5000, 300_000, 1_000_000, 10_000_000, 1e9]) {
      for (const workers of [1, 2, 8]) {
        for (const signatures of [false, true]) {
          const size = defaultRangeSize(total, workers, signatures);
          expect(Number.isInteger(Math.log2(size))).toBe(true);
          expect(size).toBeGreaterThanOrEqual(2 ** 11);
          expect(size).toBeLessThanOrEqual(2 ** 15);
          if (size > 2 ** 11) expect(Math.ceil(total / size)).toBeGreaterThanOrEqual(workers * (signatures ? 64 : 16));
        }
      }
    }
    expect(defaultRangeSize(300_000, 2, false)).toBe(8192);
    expect(defaultRangeSize(300_000, 2, true)).toBe(2048);
    expect(defaultRangeSize(10_000_000, 2, false)).toBe(32768);
  });

  it("builds the range worker as one script under Node (no tsx loader in each worker)", async () => {
    const script = await workerScript();
    expect(typeof script).toBe("string");
    expect(script).toContain("createRangeChecker");
  });
});
