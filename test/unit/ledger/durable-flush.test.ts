import { describe, expect, it } from "vitest";
import { createDurableFlusher } from "../../../src/ledger/durable-flush.js";

// The flusher against a scripted database: what matters is who is settled when.
function fakePool() {
  const calls: number[] = [];
  let release: Array<() => void> = [];
  let fail = false;
  return {
    calls,
    failNext: () => (fail = true),
    releaseAll: () => {
      const r = release;
      release = [];
      r.forEach((f) => f());
    },
    query: (_sql: string, values: number[]) => {
      calls.push(values[0]!);
      const failing = fail;
      fail = false;
      return new Promise<unknown>((resolve, reject) => release.push(() => (failing ? reject(new Error("connection lost")) : resolve({}))));
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("durable flush", () => {
  it("given batches committed while a flush is on disk, settles them all with the next single write", async () => {
    const pool = fakePool();
    const flusher = createDurableFlusher(pool as never);
    const settled: Array<[number, unknown]> = [];
    flusher.add({ position: 10, settle: (f) => settled.push([10, f]) });
    await tick();
    flusher.add({ position: 20, settle: (f) => settled.push([20, f]) });
    flusher.add({ position: 30, settle: (f) => settled.push([30, f]) });
    expect(settled).toEqual([]); // nothing answered before its flush returns
    pool.releaseAll();
    await tick();
    expect(settled).toEqual([[10, undefined]]);
    pool.releaseAll();
    await flusher.idle();
    expect(settled).toEqual([[10, undefined], [20, undefined], [30, undefined]]);
    expect(pool.calls).toEqual([10, 30]); // one write for the two that waited together
  });

  it("given a failed flush, settles that round with a retriable ERR_OUTCOME_UNKNOWN (written, durability unknown) and keeps going", async () => {
    const pool = fakePool();
    const flusher = createDurableFlusher(pool as never);
    const settled: Array<[number, unknown]> = [];
    pool.failNext();
    flusher.add({ position: 5, settle: (f) => settled.push([5, f]) });
    pool.releaseAll();
    await flusher.idle();
    expect(settled[0]![1]).toMatchObject({ code: "ERR_OUTCOME_UNKNOWN", retriable: true });
    flusher.add({ position: 6, settle: (f) => settled.push([6, f]) });
    pool.releaseAll();
    await tick();
    pool.releaseAll();
    await flusher.idle();
    expect(settled[1]).toEqual([6, undefined]);
  });

  it("given an add right after a loop drained, starts a new loop (no batch left waiting)", async () => {
    const pool = fakePool();
    const flusher = createDurableFlusher(pool as never);
    const settled: number[] = [];
    flusher.add({ position: 1, settle: () => settled.push(1) });
    pool.releaseAll();
    await flusher.idle();
    flusher.add({ position: 2, settle: () => settled.push(2) });
    await tick();
    pool.releaseAll();
    await flusher.idle();
    expect(settled).toEqual([1, 2]);
  });
});
