import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventRecord } from "../../src/core/index.js";
import { createVerifyingConsumer, type ConsumerCursor } from "../../src/relay/consumer/index.js";
import { createMemoryKafka, createRelayService, HEADER } from "../../src/relay/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { consumeAll, trustOf } from "../support/kafka.js";

// The relay and the consumer against the in-memory port (real PostgreSQL): failures a real
// broker produces only by chance, made to happen on purpose.
let annal: TestAnnal;
beforeEach(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
});
afterEach(async () => {
  await annal?.close();
});

async function appendMany(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await annal.ledger.append({ streamId: `m-${i % 11}`, events: [{ type: "Touched", data: { i } }] });
}

describe("relay and consumer on the in-memory port", () => {
  it("a send that fails after writing part of a batch: the relay rewinds, and each position is in the topic exactly once", async () => {
    await appendMany(120);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 3, batchSize: 25, pollIntervalMs: 20, controlIntervalMs: 0, backoff: { initialMs: 10, maxMs: 50 } });
    kafka.failNextSends(0);
    relay.start();
    await eventually(() => relay.status(), (s) => (s?.position ?? 0) >= 25);
    kafka.failNextSends(3, 7);
    await appendMany(30);
    await eventually(() => relay.status(), (s) => s?.position === 150, 20_000);
    await relay.stop();
    const positions: number[] = [];
    for (let p = 0; p < 3; p++) {
      for (const r of await kafka.fetch("t", p, 0, { maxBytes: 1 << 30 })) {
        if (new TextDecoder().decode(r.headers[HEADER.record]) === "event") positions.push(Number(new TextDecoder().decode(r.headers[HEADER.sequence])));
      }
    }
    expect(positions.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    const consumed = await consumeAll(kafka, "t", trustOf(annal));
    expect(consumed.error).toBeUndefined();
    expect(consumed.incidents).toEqual([]);
    expect(consumed.events).toHaveLength(150);
  });

  it("the consumer resumes from the cursor it handed over: the rest arrives once, the chain and tree continue", async () => {
    await appendMany(200);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 4, batchSize: 40, pollIntervalMs: 20, controlIntervalMs: 0 });
    relay.start();
    await eventually(() => relay.status(), (s) => s?.position === 200);
    await relay.stop();
    // First run: stop after the first batch of 50, storing the cursor as an application would.
    const first: EventRecord[] = [];
    let stored: string | undefined;
    const stop = new AbortController();
    const consumer = createVerifyingConsumer({ kafka }, { topic: "t", trust: trustOf(annal), maxBatch: 50 });
    await consumer.run({
      signal: stop.signal,
      apply(batch) {
        first.push(...batch.events);
        stored = JSON.stringify(batch.cursor);
        if (first.length >= 50) stop.abort();
        return Promise.resolve();
      },
    });
    expect(first.length).toBeGreaterThanOrEqual(50);
    const cursor = JSON.parse(stored!) as ConsumerCursor;
    expect(cursor.position).toBe(first.at(-1)!.position);
    const rest = await consumeAll(kafka, "t", trustOf(annal), { cursor });
    expect(rest.error).toBeUndefined();
    expect([...first, ...rest.events].map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // Checkpoints after the resume are checked against the tree rebuilt from the cursor's frontier.
    expect(rest.summary.checkpoints).toBeGreaterThan(0);
    expect(rest.incidents.filter((i) => i.kind !== "duplicate")).toEqual([]);
  });
});
