import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryAcquireLease } from "../../src/follower/lease.js";
import { createKafkajsPort, createRelayHandler, createRelayService, ensureTopic, partitionFor, relayFollowerName, type KafkaPort, type RelayService } from "../../src/relay/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { consumeAll, ledgerBackfill, trustOf } from "../support/kafka.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { kafkaBrokers, randomName } from "../support/services.js";
import { captureLogger } from "../support/log-capture.js";

const logger = captureLogger("relay");
let kafka: KafkaPort;
const topics: string[] = [];

beforeAll(() => {
  kafka = createKafkajsPort({ brokers: kafkaBrokers(), clientId: "annal-relay-test" });
});
afterAll(async () => {
  for (const topic of topics) await kafka.deleteTopic(topic).catch(() => undefined);
  await kafka.close();
});

function relayOf(annal: TestAnnal, topic: string, options: { partitions?: number; controlIntervalMs?: number } = {}): RelayService {
  return createRelayService(
    { pool: annal.pool, connect: leaseConnector(annal), logger },
    { brokers: kafkaBrokers(), topic, origin: annal.config.origin, partitions: options.partitions ?? 6, controlIntervalMs: options.controlIntervalMs ?? 200, pollIntervalMs: 50, leaseRetryMs: 200, backoff: { initialMs: 100, maxMs: 1000 } },
  );
}

async function head(annal: TestAnnal): Promise<number> {
  const { rows } = await annal.pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
  return rows[0]!.position;
}

/** Ends the sessions holding follower leases (advisory locks) in the test's database: a partitioned or paused owner. */
async function terminateLeaseHolders(annal: TestAnnal): Promise<void> {
  const db = new pg.Client({ connectionString: annal.adminUrl });
  await db.connect();
  try {
    const { rowCount } = await db.query("SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()");
    expect(rowCount).toBeGreaterThan(0);
  } finally {
    await db.end();
  }
}

describe("the Kafka relay on the real broker", () => {
  let annal: TestAnnal;
  beforeAll(async () => {
    annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  });
  afterAll(async () => {
    await annal?.close();
  });

  it("16 concurrent writers over 500 streams: every position arrives once, in stream order per partition, and the consumer verifies everything", async () => {
    const topic = randomName("relay-16w");
    topics.push(topic);
    const relay = relayOf(annal, topic);
    relay.start();
    const writers = 16;
    const perWriter = 125;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          const stream = `order-${(w * perWriter + i) % 500}`;
          await annal.ledger.append({ streamId: stream, events: [{ type: "OrderTouched", data: { w, i } }] });
        }
      }),
    );
    const total = writers * perWriter;
    expect(await head(annal)).toBe(total);
    await eventually(() => relay.status(), (s) => s?.position === total, 60_000);
    await relay.stop();

    // Per partition: the streams it holds are exactly those that hash to it, in version order.
    const described = await kafka.describeTopic(topic);
    expect(described).toMatchObject({ partitions: 6, configs: { "cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1" } });
    const consumed = await consumeAll(kafka, topic, trustOf(annal));
    expect(consumed.error).toBeUndefined();
    expect(consumed.events.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(consumed.events.map((e) => e.streamId)).size).toBe(500);
    expect(consumed.incidents).toEqual([]);
    expect(consumed.summary.checkpoints).toBeGreaterThan(0);

    for (let p = 0; p < 6; p++) {
      const records = await kafka.fetch(topic, p, 0, { maxBytes: 64 * 1024 * 1024 });
      const versions = new Map<string, number>();
      for (const r of records) {
        const key = new TextDecoder().decode(r.key!);
        if (key === "annal:control") continue;
        expect(partitionFor(key, 6)).toBe(p);
        const event = JSON.parse(new TextDecoder().decode(r.value!)) as { streamVersion: number };
        expect(event.streamVersion).toBe((versions.get(key) ?? 0) + 1);
        versions.set(key, event.streamVersion);
      }
    }
    // The value is byte for byte what GET /events/{position} serves.
    const [first] = await kafka.fetch(topic, partitionFor(consumed.events[0]!.streamId, 6), 0);
    const event = await annal.reader.readEvent(1);
    const { eventJson } = await import("../../src/api/representations.js");
    expect(new TextDecoder().decode(first!.value!)).toBe(JSON.stringify(eventJson(event!)));
  }, 180_000);

  it("two relays: one publishes, the other waits; after the first loses its lease, the second takes over and its stale writes are fenced", async () => {
    const topic = randomName("relay-two");
    topics.push(topic);
    const a = relayOf(annal, topic);
    const b = relayOf(annal, topic);
    a.start();
    await eventually(() => a.follower?.state, (s) => s === "running");
    b.start();
    const base = await head(annal);
    for (let i = 0; i < 50; i++) await annal.ledger.append({ streamId: `two-${i % 7}`, events: [{ type: "Touched", data: { i } }] });
    await eventually(() => a.status(), (s) => s?.position === base + 50);
    expect(b.follower?.state).toBe("standby");
    // Cut a's lock connection from the database side: b wins the lease and bumps the epoch.
    await terminateLeaseHolders(annal);
    await eventually(() => b.follower?.state, (s) => s === "running", 30_000);
    for (let i = 0; i < 50; i++) await annal.ledger.append({ streamId: `two-${i % 7}`, events: [{ type: "Touched", data: { i, round: 2 } }] });
    await eventually(() => b.status(), (s) => s?.position === base + 100, 30_000);
    await a.stop();
    await b.stop();
    const consumed = await consumeAll(kafka, topic, trustOf(annal), { backfill: ledgerBackfill(annal) });
    expect(consumed.error).toBeUndefined();
    expect(consumed.events.map((e) => e.position)).toEqual(Array.from({ length: base + 100 }, (_, i) => i + 1));
    expect(consumed.incidents.filter((i) => i.kind !== "duplicate")).toEqual([]);
  }, 180_000);

  it("a stale owner cannot send: after another instance claimed the epoch, its batch is refused before anything reaches Kafka", async () => {
    const topic = randomName("relay-stale");
    topics.push(topic);
    const name = relayFollowerName(topic);
    const connect = leaseConnector(annal);
    const stale = await tryAcquireLease(connect, name, "stale");
    expect(stale).toBeDefined();
    const handler = createRelayHandler({ kafka }, { followerName: name, topic, origin: annal.config.origin, partitions: 3, controlIntervalMs: 1000 });
    await handler.start!({ cursor: stale!.cursor, epoch: stale!.epoch, pool: annal.pool });
    const events = await annal.reader.readRange(1, 10);
    // The stale owner's lock connection is gone (a partition); the new owner wins the lease.
    await terminateLeaseHolders(annal);
    const fresh = await eventually(() => tryAcquireLease(connect, name, "fresh"), (l) => l !== undefined, 10_000);
    expect(fresh!.epoch).toBe(stale!.epoch + 1);
    const tx = await annal.pool.connect();
    try {
      await tx.query("BEGIN");
      const batch = { from: stale!.cursor, to: { position: events.at(-1)!.position, hash: events.at(-1)!.hash }, events };
      await expect(handler.handle(batch, { tx, epoch: stale!.epoch, signal: new AbortController().signal })).rejects.toMatchObject({ code: "ERR_FENCED" });
      await tx.query("ROLLBACK");
    } finally {
      tx.release();
    }
    expect((await kafka.offsets(topic)).every((o) => o.high === 0)).toBe(true);
    await handler.close();
    await fresh!.release();
  });

  it("refuses a compacted topic, a finite retention, and a topic whose partition count changed", async () => {
    const compacted = randomName("relay-compact");
    topics.push(compacted);
    await kafka.createTopic(compacted, { partitions: 2, configs: { "cleanup.policy": "compact" } });
    const client = await annal.pool.connect();
    try {
      await expect(ensureTopic(kafka, client, compacted, { partitions: 2 })).rejects.toMatchObject({ code: "ERR_KAFKA_TOPIC" });
      const finite = randomName("relay-finite");
      topics.push(finite);
      await kafka.createTopic(finite, { partitions: 2, configs: { "retention.ms": "86400000" } });
      await expect(ensureTopic(kafka, client, finite, { partitions: 2 })).rejects.toMatchObject({ code: "ERR_KAFKA_TOPIC" });
      const changed = randomName("relay-changed");
      topics.push(changed);
      expect(await ensureTopic(kafka, client, changed, { partitions: 2 })).toBe(2);
    } finally {
      client.release();
    }
    // The application role may not rewrite the record; the superuser plays the operator who added partitions.
    const db = new pg.Client({ connectionString: annal.adminUrl });
    await db.connect();
    const changed = topics.at(-1)!;
    await db.query("UPDATE annal.relay_topics SET partitions = 3 WHERE topic = $1", [changed]);
    await db.end();
    const again = await annal.pool.connect();
    try {
      await expect(ensureTopic(kafka, again, changed, { partitions: 2 })).rejects.toMatchObject({ code: "ERR_KAFKA_TOPIC", details: { recorded: 3, partitions: 2 } });
    } finally {
      again.release();
    }
  });
});
