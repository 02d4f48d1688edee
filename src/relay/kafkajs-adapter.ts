import { Kafka, logLevel as kafkaLogLevel, type Admin, type KafkaConfig, type LogEntry } from "kafkajs";
import type { Logger } from "pino";
import { withKafkaRetry, type KafkaPort, type KafkaProducer, type KafkaRecord, type PartitionOffsets, type TopicDescription } from "./kafka-port.js";

export interface KafkajsPortOptions {
  brokers: readonly string[];
  clientId?: string;
  logger?: Logger;
  /** Per request; kafkajs default 30 s. */
  requestTimeoutMs?: number;
  /** kafkajs's own retries inside one call (then ours, bounded, around it). */
  retries?: number;
  /** Extra client settings (TLS, SASL) passed to kafkajs as they are. */
  client?: Pick<KafkaConfig, "ssl" | "sasl">;
}

// What kafkajs calls a cluster: metadata plus one connection per broker. The consumer
// helper and the relay's tail read fetch partitions at offsets they choose, with no
// consumer group (Annal keeps its own cursors), which kafkajs only offers through its
// internal cluster object. kafkajs has had no release since 2.2.4 (2023), so this
// internal shape is frozen; the contract suite proves it against the real broker.
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<{
    fetch(request: {
      replicaId: number;
      isolationLevel: number;
      maxWaitTime: number;
      minBytes: number;
      maxBytes: number;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
    }): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number; errorCode: number; messages: RawMessage[] }> }> }>;
  }>;
}

interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  timestamp: string;
  isControlRecord?: boolean;
}

const READ_COMMITTED = 1;
// A produce request per partition stays well under the broker's message.max.bytes (1 MiB default).
const MAX_SEND_BYTES = 768 * 1024;

/** The KafkaPort over kafkajs 2.2.4, which speaks protocol versions Kafka 4 still accepts. */
export function createKafkajsPort(options: KafkajsPortOptions): KafkaPort {
  const logger = options.logger?.child({ component: "kafkajs" });
  const kafka = new Kafka({
    clientId: options.clientId ?? "annal",
    brokers: [...options.brokers],
    ...options.client,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: 3_000,
    // Few retries inside kafkajs: withKafkaRetry bounds the whole call around them.
    retry: { retries: options.retries ?? 2, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logger ? kafkaLogLevel.WARN : kafkaLogLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      // kafkajs logs retried protocol errors as ERROR; its callers decide what failed.
      const { message, ...rest } = entry.log;
      logger?.warn({ kafkajs: entry.namespace, ...rest }, message);
    },
  });
  let adminPromise: Promise<Admin> | undefined;
  let clusterPromise: Promise<KafkajsCluster> | undefined;
  // One metadata registration per topic: concurrent ones race in kafkajs's broker pool and
  // leave a connection outside it (kept open after disconnect).
  const topicsKnown = new Map<string, Promise<void>>();
  let brokerLock: Promise<void> = Promise.resolve();
  // Brokers (node ids) whose connections are up; emptied on any failure.
  const warmed = new Set<string>();

  function admin(): Promise<Admin> {
    adminPromise ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })().catch((error: unknown) => {
      adminPromise = undefined;
      throw error;
    });
    return adminPromise;
  }

  function cluster(): Promise<KafkajsCluster> {
    clusterPromise ??= (async () => {
      const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster");
      if (symbol === undefined) throw new TypeError("this kafkajs version has no internal cluster factory (Annal needs kafkajs 2.2.x)");
      const create = (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[symbol]!;
      const c = create({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
      topicsKnown.clear();
      warmed.clear();
      await c.connect();
      return c;
    })().catch((error: unknown) => {
      clusterPromise = undefined;
      throw error;
    });
    return clusterPromise;
  }

  async function fetchOnce(topic: string, partition: number, offset: number, maxBytes: number, maxWaitMs: number): Promise<KafkaRecord[]> {
    const c = await cluster();
    let known = topicsKnown.get(topic);
    if (known === undefined) {
      known = c.addTargetTopic(topic);
      topicsKnown.set(topic, known);
      known.catch(() => topicsKnown.delete(topic));
    }
    await known;
    const leaders = c.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      await c.refreshMetadata();
      throw Object.assign(new Error(`no leader known for ${topic}/${partition}`), { retriable: true });
    }
    // kafkajs connects a broker's connections lazily, and two requests racing to connect
    // one connection each open a socket: the one it forgets outlives disconnect(). So the
    // first fetch to a broker (connect included) goes alone; then fetches run side by side.
    if (!warmed.has(nodeId)) {
      const first = brokerLock.then(async () => fetchFrom(await c.findBroker({ nodeId })));
      brokerLock = first.then(() => undefined, () => undefined);
      const records = await first;
      warmed.add(nodeId);
      return records;
    }
    return fetchFrom(await c.findBroker({ nodeId }));

    async function fetchFrom(broker: Awaited<ReturnType<KafkajsCluster["findBroker"]>>): Promise<KafkaRecord[]> {
      let response;
      try {
        response = await broker.fetch({
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: maxWaitMs,
          minBytes: 1,
          maxBytes,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
        });
      } catch (error) {
        // A moved leader or a restarted broker: look again before the retry, one at a time.
        warmed.clear();
        await c.refreshMetadata().catch(() => undefined);
        throw error;
      }
      const data = response.responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
      if (data === undefined) return [];
      const records: KafkaRecord[] = [];
      for (const m of data.messages) {
        // A fetch answers whole record batches: skip records before the offset asked for, and
        // transaction markers (Annal never writes transactions; other producers might).
        const at = Number(m.offset);
        if (at < offset || m.isControlRecord === true) continue;
        records.push({ partition, offset: at, key: m.key === null ? null : new Uint8Array(m.key), value: m.value === null ? null : new Uint8Array(m.value), headers: headersOf(m.headers), timestamp: Number(m.timestamp) });
      }
      return records;
    }
  }

  return {
    async describeTopic(topic) {
      return withKafkaRetry(async () => {
        const a = await admin();
        const topics = await a.listTopics();
        if (!topics.includes(topic)) return undefined;
        const metadata = await a.fetchTopicMetadata({ topics: [topic] });
        const partitions = metadata.topics[0]?.partitions.length ?? 0;
        const described = await a.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
        const configs: Record<string, string> = {};
        for (const entry of described.resources[0]?.configEntries ?? []) configs[entry.configName] = entry.configValue;
        return { partitions, configs } satisfies TopicDescription;
      });
    },
    async createTopic(topic, { partitions, replicationFactor, configs }) {
      const created = await withKafkaRetry(async () => {
        const a = await admin();
        return a.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: partitions, replicationFactor: replicationFactor ?? -1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
        });
      });
      if (!created) throw new Error(`topic ${topic} already exists`);
    },
    async deleteTopic(topic) {
      await withKafkaRetry(async () => (await admin()).deleteTopics({ topics: [topic] }));
    },
    async offsets(topic): Promise<PartitionOffsets[]> {
      const rows = await withKafkaRetry(async () => (await admin()).fetchTopicOffsets(topic));
      return rows.map((r) => ({ partition: r.partition, low: Number(r.low), high: Number(r.high) })).sort((a, b) => a.partition - b.partition);
    },
    fetch(topic, partition, offset, { maxBytes = 1024 * 1024, maxWaitMs = 100 } = {}) {
      return withKafkaRetry(() => fetchOnce(topic, partition, offset, maxBytes, maxWaitMs));
    },
    async producer(): Promise<KafkaProducer> {
      // Idempotent (a producer id and per-partition sequence numbers: the broker drops a
      // retried duplicate and refuses a gap), acks=all, one request in flight (so a retry
      // can never overtake the request before it).
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await withKafkaRetry(() => producer.connect());
      return {
        async send(topic, records) {
          let chunk: Array<{ partition: number; key: Buffer | string | null; value: Buffer | string; headers: Record<string, Buffer | string> }> = [];
          let bytes = 0;
          const flush = async () => {
            if (chunk.length === 0) return;
            const messages = chunk;
            chunk = [];
            bytes = 0;
            await producer.send({ topic, acks: -1, messages });
          };
          for (const r of records) {
            const size = (typeof r.value === "string" ? r.value.length * 3 : r.value.length) + 200;
            if (bytes + size > MAX_SEND_BYTES) await flush();
            const headers: Record<string, Buffer | string> = {};
            for (const [name, value] of Object.entries(r.headers)) headers[name] = typeof value === "string" ? value : toBuffer(value);
            chunk.push({ partition: r.partition, key: r.key === null || typeof r.key === "string" ? r.key : toBuffer(r.key), value: typeof r.value === "string" ? r.value : toBuffer(r.value), headers });
            bytes += size;
          }
          await flush();
        },
        close: () => producer.disconnect(),
      };
    },
    async close() {
      const a = adminPromise;
      const c = clusterPromise;
      adminPromise = undefined;
      clusterPromise = undefined;
      topicsKnown.clear();
      await Promise.all([a?.then((x) => x.disconnect()).catch(() => undefined), c?.then((x) => x.disconnect()).catch(() => undefined)]);
    },
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function headersOf(raw: Record<string, Buffer | Buffer[] | undefined>): Record<string, Uint8Array> {
  const headers: Record<string, Uint8Array> = {};
  for (const [name, value] of Object.entries(raw)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = new Uint8Array(last);
  }
  return headers;
}
