import { afterEach, describe, expect, it } from "vitest";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";

// How batches form: appends that queue while a batch is being written all go into the
// next batch (up to ANNAL_MAX_BATCH_EVENTS), not one batch each, and a batch never waits
// for appends that have not arrived. Counted through the onBatch hook (what the metrics
// see), never timed.
describe("batch formation", () => {
  let annal: TestAnnal | undefined;
  afterEach(async () => {
    await annal?.close();
    annal = undefined;
  });

  async function start(env: Record<string, string>) {
    const batches: Array<{ requests: number; events: number }> = [];
    annal = await startTestAnnal(env, { onBatch: ({ requests, events }) => batches.push({ requests, events }) });
    return { ledger: annal.ledger, batches };
  }

  it("takes everything queued behind a batch in flight into the next batch", async () => {
    const { ledger, batches } = await start({ ANNAL_MAX_BATCHES_IN_FLIGHT: "1" });
    // The first append leaves at once, alone: the sequencer does not wait to fill a batch.
    const first = ledger.append({ streamId: "s-0", events: [{ type: "Placed", data: 0 }] });
    // Queued in the same turn, while the first is being written.
    const rest = Array.from({ length: 50 }, (_, i) => ledger.append({ streamId: `s-${(i % 7) + 1}`, events: [{ type: "Placed", data: i + 1 }] }));
    await Promise.all([first, ...rest]);

    expect(batches).toEqual([
      { requests: 1, events: 1 },
      { requests: 50, events: 50 },
    ]);
  });

  it("splits what is queued at ANNAL_MAX_BATCH_EVENTS, in queue order", async () => {
    const { ledger, batches } = await start({ ANNAL_MAX_BATCHES_IN_FLIGHT: "1", ANNAL_MAX_BATCH_EVENTS: "20" });
    const first = ledger.append({ streamId: "t-0", events: [{ type: "Placed", data: 0 }] });
    const rest = Array.from({ length: 45 }, (_, i) => ledger.append({ streamId: "t-1", events: [{ type: "Placed", data: i + 1 }] }));
    const receipts = await Promise.all(rest);
    await first;

    expect(batches.map((b) => b.events)).toEqual([1, 20, 20, 5]);
    // One stream, in queue order: versions follow the order of the calls.
    expect(receipts.map((r) => r.streamVersion)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
  });
});
