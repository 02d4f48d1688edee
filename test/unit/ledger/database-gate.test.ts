import { describe, expect, it } from "vitest";
import { createDatabaseGate } from "../../../src/ledger/database-gate.js";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe("database gate", () => {
  it("given an open gate, lets appends through without probing", () => {
    let probes = 0;
    const gate = createDatabaseGate({ probe: () => Promise.resolve(probes++) });
    expect(() => gate.assertAvailable()).not.toThrow();
    expect(probes).toBe(0);
  });

  it("when a failure is reported, refuses with a retriable ERR_UNAVAILABLE until a probe succeeds, probing one at a time", async () => {
    let down = true;
    let probes = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const changes: boolean[] = [];
    const gate = createDatabaseGate(
      {
        probe: async () => {
          probes++;
          maxConcurrent = Math.max(maxConcurrent, ++concurrent);
          await tick(2);
          concurrent--;
          if (down) throw new Error("Connection terminated");
        },
        onChange: (available) => changes.push(available),
      },
      { probeIntervalMs: 5 },
    );
    gate.reportDown(new Error("Query read timeout"));
    gate.reportDown(new Error("Query read timeout"));
    expect(() => gate.assertAvailable()).toThrow(expect.objectContaining({ code: "ERR_UNAVAILABLE", retriable: true }));
    await tick(40);
    expect(gate.available).toBe(false);
    expect(probes).toBeGreaterThan(1);
    expect(maxConcurrent).toBe(1);

    down = false;
    await tick(40);
    expect(gate.available).toBe(true);
    expect(changes).toEqual([false, true]);
    const settled = probes;
    await tick(30);
    expect(probes).toBe(settled); // no probing while open
    gate.close();
  });

  it("after close, stops probing", async () => {
    let probes = 0;
    const gate = createDatabaseGate({ probe: () => Promise.reject(new Error(String(probes++))) }, { probeIntervalMs: 1 });
    gate.reportDown(new Error("down"));
    await tick(10);
    gate.close();
    const seen = probes;
    await tick(20);
    expect(probes).toBeLessThanOrEqual(seen + 1);
  });
});
