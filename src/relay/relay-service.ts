import type pg from "pg";
import type { Logger } from "pino";
import { Gauge, Histogram, type Registry } from "prom-client";
import { readFollowerStatus, startFollower, type Follower, type FollowerStatus, type LogWakeup } from "../follower/index.js";
import type { KafkaPort } from "./kafka-port.js";
import type { SASLOptions } from "kafkajs";
import { createKafkajsPort } from "./kafkajs-adapter.js";
import { createRelayHandler } from "./relay-handler.js";

export interface RelayServiceDeps {
  pool: pg.Pool;
  /** A new, unconnected client as the application role, for the follower's lease. */
  connect: () => pg.Client;
  wakeup?: LogWakeup;
  logger?: Logger;
  /** Defaults to kafkajs on `options.brokers`. */
  kafka?: KafkaPort;
  /** Where the relay's metrics go (annal_relay_*). */
  metrics?: Registry;
  /** Per committed batch: ms from each event's recordedAt to Kafka's acknowledgement (benchmarks). */
  onPublished?: (latenciesMs: readonly number[]) => void;
}

export interface RelayServiceOptions {
  brokers: readonly string[];
  topic: string;
  origin: string;
  /** Partitions when the relay creates the topic (default 12). */
  partitions?: number;
  replicationFactor?: number;
  /** Control records with the latest signed checkpoint at most this often (default 10 s). */
  controlIntervalMs?: number;
  batchSize?: number;
  pollIntervalMs?: number;
  leaseRetryMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** SASL for kafkajs; its `password` is read at each connection's authentication (a getter follows rotation). */
  sasl?: SASLOptions;
}

export interface RelayService {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  status(): Promise<FollowerStatus | undefined>;
  readonly follower: Follower | undefined;
}

/** The follower name of the relay of `topic`: one active relay per topic per database. */
export function relayFollowerName(topic: string): string {
  return `relay:${topic}`.toLowerCase();
}

/**
 * The Kafka relay: one follower (fenced, one active instance per topic) publishing every
 * committed event to `topic`. Runs inside `annal serve` (ANNAL_KAFKA_BROKERS) or alone
 * (`annal relay`).
 */
export function createRelayService(deps: RelayServiceDeps, options: RelayServiceOptions): RelayService {
  const name = relayFollowerName(options.topic);
  const kafka = deps.kafka ?? createKafkajsPort({ brokers: options.brokers, clientId: `annal-relay`, ...(deps.logger ? { logger: deps.logger } : {}), ...(options.sasl ? { client: { sasl: options.sasl } } : {}) });
  const ownsKafka = deps.kafka === undefined;
  const registers = deps.metrics ? [deps.metrics] : [];
  const latency = new Histogram({
    name: "annal_relay_publish_latency_seconds",
    help: "From an event's recordedAt to its acknowledgement by Kafka",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    labelNames: ["topic"],
    registers,
  });
  const labels = { topic: options.topic };
  let follower: Follower | undefined;
  const handler = createRelayHandler(
    {
      kafka,
      ...(deps.logger ? { logger: deps.logger.child({ component: "relay", topic: options.topic }) } : {}),
      onPublished: (ms) => {
        for (const m of ms) latency.observe(labels, m / 1000);
        deps.onPublished?.(ms);
      },
    },
    { followerName: name, topic: options.topic, origin: options.origin, partitions: options.partitions ?? 12, ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }), controlIntervalMs: options.controlIntervalMs ?? 10_000 },
  );
  const status = async () => (await readFollowerStatus(deps.pool, [name]))[0];
  if (deps.metrics) {
    // Read from the database at scrape time: what every instance (and the standby) sees.
    const healthy = new Gauge({ name: "annal_relay_healthy", help: "1 when the relay is running and beating", labelNames: ["topic"], registers });
    const lagSeconds = new Gauge({ name: "annal_relay_lag_seconds", help: "Age of the oldest committed event not yet published", labelNames: ["topic"], registers });
    new Gauge({
      name: "annal_relay_lag_events",
      help: "Committed events not yet published to Kafka",
      labelNames: ["topic"],
      registers,
      async collect() {
        const s = await status().catch(() => undefined);
        healthy.set(labels, s?.healthy ? 1 : 0);
        if (s) {
          this.set(labels, s.lagEvents);
          lagSeconds.set(labels, s.lagSeconds);
        }
      },
    });
  }
  return {
    name,
    get follower() {
      return follower;
    },
    start() {
      if (follower !== undefined) return;
      follower = startFollower(
        { pool: deps.pool, connect: deps.connect, ...(deps.wakeup ? { wakeup: deps.wakeup } : {}), ...(deps.logger ? { logger: deps.logger } : {}) },
        {
          name,
          batchSize: options.batchSize ?? 2000,
          ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
          ...(options.leaseRetryMs === undefined ? {} : { leaseRetryMs: options.leaseRetryMs }),
          backoff: options.backoff ?? { initialMs: 200, maxMs: 5_000 },
        },
        handler,
      );
    },
    async stop() {
      await follower?.stop();
      await handler.close();
      if (ownsKafka) await kafka.close();
    },
    status,
  };
}
