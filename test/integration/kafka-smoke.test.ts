import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRetriableKafkaError, withKafkaRetry } from "../../src/relay/index.js";
import { kafkaBrokers, randomName } from "../support/services.js";

const MESSAGES = 10_000;
const KEYS = 50;

// Real broker, real protocol: idempotent acks=all producer, a consumer group, order per key.
describe("kafka smoke", () => {
  const topic = randomName("smoke");
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: "annal-smoke", brokers: kafkaBrokers(), logLevel: logLevel.ERROR, retry: { retries: 3 } });
    admin = kafka.admin();
    await withKafkaRetry(() => admin.connect());
    await withKafkaRetry(() => admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }));
  });

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  });

  it("delivers 10,000 keyed messages to a consumer group, in order per key", async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]!.partitions).toHaveLength(3);

    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await withKafkaRetry(() => producer.connect());
    const sent = new Map<string, number>();
    for (let batch = 0; batch < MESSAGES / 1_000; batch++) {
      const messages = Array.from({ length: 1_000 }, (_, i) => {
        const key = `stream-${(batch * 1_000 + i) % KEYS}`;
        const seq = sent.get(key) ?? 0;
        sent.set(key, seq + 1);
        return { key, value: String(seq) };
      });
      const acks = await withKafkaRetry(() => producer.send({ topic, acks: -1, messages }));
      expect(acks.every((ack) => ack.errorCode === 0)).toBe(true);
    }

    // A fresh broker answers the first group join with COORDINATOR_LOAD_IN_PROGRESS (a
    // retriable error) while it loads __consumer_offsets: kafkajs retries the join with
    // `retry`, and a crash it gives up on restarts the consumer (restartOnFailure), at
    // most a bounded number of times for a retriable error.
    let restarts = 0;
    consumer = kafka.consumer({
      groupId: randomName("smoke-group"),
      retry: {
        retries: 8,
        restartOnFailure: (error) => Promise.resolve(isRetriableKafkaError(error) && ++restarts <= 5),
      },
    });
    await withKafkaRetry(() => consumer.connect());
    await withKafkaRetry(() => consumer.subscribe({ topic, fromBeginning: true }));
    const seen = new Map<string, number[]>();
    const partitionOfKey = new Map<string, number>();
    const crossed: string[] = [];
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer read ${received} of ${MESSAGES} messages in 45 s`)), 45_000);
      // A consumer that gives up (broker gone, or a retriable error past its bound)
      // crashes without a restart; fail with its reason, not the timeout.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        clearTimeout(timer);
        reject(payload.error);
      });
      void consumer.run({
        eachMessage: ({ partition, message }) => {
          const key = message.key!.toString();
          const values = seen.get(key) ?? [];
          values.push(Number(message.value!.toString()));
          seen.set(key, values);
          const prior = partitionOfKey.get(key);
          if (prior !== undefined && prior !== partition) crossed.push(`${key}: ${prior} and ${partition}`);
          partitionOfKey.set(key, partition);
          received += 1;
          if (received === MESSAGES) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
    await done;

    expect(received).toBe(MESSAGES);
    expect(crossed).toEqual([]);
    expect(seen.size).toBe(KEYS);
    for (const [key, values] of seen) {
      expect(values, key).toEqual(Array.from({ length: sent.get(key)! }, (_, i) => i));
    }
    expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1); // keys spread over partitions
  });
});
