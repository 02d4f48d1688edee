import type { KafkaPort, KafkaProducer, KafkaRecord, OutgoingRecord } from "./kafka-port.js";

/**
 * An in-memory KafkaPort: the fake the contract suite holds to the same rules as the real
 * broker, for unit tests of the relay and the consumer helper. `fail` makes the next
 * sends reject (as a broker outage would).
 */
export function createMemoryKafka(): KafkaPort & {
  /** Appends records as they are, bypassing any producer (a hostile or buggy writer). */
  append(topic: string, records: readonly OutgoingRecord[]): void;
  /** The next `count` sends reject with a retriable error after appending `partialRecords` records. */
  failNextSends(count: number, partialRecords?: number): void;
  setConfig(topic: string, name: string, value: string): void;
  addPartitions(topic: string, count: number): void;
} {
  const topics = new Map<string, { partitions: KafkaRecord[][]; configs: Record<string, string> }>();
  let failures = 0;
  let partial = 0;
  const encoder = new TextEncoder();
  const bytes = (v: Uint8Array | string) => (typeof v === "string" ? encoder.encode(v) : new Uint8Array(v));

  function topicOf(name: string) {
    const topic = topics.get(name);
    if (!topic) throw Object.assign(new Error(`This server does not host this topic-partition: ${name}`), { type: "UNKNOWN_TOPIC_OR_PARTITION", retriable: false });
    return topic;
  }

  function append(name: string, records: readonly OutgoingRecord[]): void {
    const topic = topicOf(name);
    for (const r of records) {
      const partition = topic.partitions[r.partition];
      if (!partition) throw new RangeError(`partition ${r.partition} of ${name} does not exist`);
      const headers: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(r.headers)) headers[k] = bytes(v);
      partition.push({ partition: r.partition, offset: partition.length, key: r.key === null ? null : bytes(r.key), value: bytes(r.value), headers, timestamp: Date.now() });
    }
  }

  return {
    append,
    failNextSends(count, partialRecords = 0) {
      failures = count;
      partial = partialRecords;
    },
    setConfig(name, key, value) {
      topicOf(name).configs[key] = value;
    },
    addPartitions(name, count) {
      const topic = topicOf(name);
      for (let i = 0; i < count; i++) topic.partitions.push([]);
    },
    describeTopic(name) {
      const topic = topics.get(name);
      return Promise.resolve(topic && { partitions: topic.partitions.length, configs: { ...topic.configs } });
    },
    createTopic(name, { partitions, configs }) {
      if (topics.has(name)) return Promise.reject(new Error(`topic ${name} already exists`));
      topics.set(name, { partitions: Array.from({ length: partitions }, () => []), configs: { "cleanup.policy": "delete", "retention.ms": "604800000", "retention.bytes": "-1", ...configs } });
      return Promise.resolve();
    },
    deleteTopic(name) {
      topics.delete(name);
      return Promise.resolve();
    },
    offsets(name) {
      try {
        return Promise.resolve(topicOf(name).partitions.map((p, partition) => ({ partition, low: 0, high: p.length })));
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    async fetch(name, partition, offset, { maxBytes = 1024 * 1024, maxWaitMs = 0 } = {}) {
      const records = topicOf(name).partitions[partition];
      if (!records) throw new RangeError(`partition ${partition} of ${name} does not exist`);
      if (offset >= records.length && maxWaitMs > 0) await new Promise((r) => setTimeout(r, Math.min(maxWaitMs, 20)));
      const out: KafkaRecord[] = [];
      let size = 0;
      for (let i = offset; i < records.length; i++) {
        const r = records[i]!;
        size += (r.value?.length ?? 0) + 100;
        // Like Kafka, at least one record even when it alone exceeds maxBytes.
        if (out.length > 0 && size > maxBytes) break;
        out.push(r);
      }
      return out;
    },
    producer(): Promise<KafkaProducer> {
      let broken = false;
      return Promise.resolve({
        send(name, records) {
          if (broken) return Promise.reject(new Error("this producer failed before; make a new one"));
          if (failures > 0) {
            failures--;
            broken = true;
            try {
              append(name, records.slice(0, partial));
            } catch (error) {
              return Promise.reject(asError(error));
            }
            return Promise.reject(Object.assign(new Error("broker not available (injected)"), { retriable: true }));
          }
          try {
            append(name, records);
          } catch (error) {
            return Promise.reject(asError(error));
          }
          return Promise.resolve();
        },
        close: () => Promise.resolve(),
      });
    },
    close: () => Promise.resolve(),
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
