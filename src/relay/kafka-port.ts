/**
 * The part of Kafka Annal uses, owned by the relay and the consumer helper. One contract
 * suite (test/integration/kafka-port.contract.ts) runs against every implementation: the
 * kafkajs adapter on a real broker and the in-memory fake.
 */

/** A record as stored in a partition. */
export interface KafkaRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Header values as bytes; a header repeated keeps its last value. */
  readonly headers: Readonly<Record<string, Uint8Array>>;
  /** Broker or producer timestamp, ms since the epoch. */
  readonly timestamp: number;
}

export interface OutgoingRecord {
  readonly partition: number;
  readonly key: Uint8Array | string | null;
  readonly value: Uint8Array | string;
  readonly headers: Readonly<Record<string, string | Uint8Array>>;
}

export interface TopicDescription {
  readonly partitions: number;
  /** The topic's effective settings that the relay depends on (cleanup.policy, retention.ms, retention.bytes...). */
  readonly configs: Readonly<Record<string, string>>;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** First offset still stored. */
  readonly low: number;
  /** The offset the next record will get (the high watermark). */
  readonly high: number;
}

/**
 * An idempotent producer with acks=all and one request in flight.
 *
 * `send` MUST NOT resolve before every record is acknowledged by all in-sync replicas.
 * Records sent to one partition MUST be appended in the order given, and a resolved send
 * MUST NOT be followed by a record of an earlier send. After a rejection the producer is
 * unusable: callers MUST close it, make a new one and resend from what the topic holds.
 */
export interface KafkaProducer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaPort {
  /** undefined when the topic does not exist. */
  describeTopic(topic: string): Promise<TopicDescription | undefined>;
  /** Creates the topic; resolves once every partition has a leader. MUST fail if it already exists. */
  createTopic(topic: string, options: { partitions: number; replicationFactor?: number; configs: Readonly<Record<string, string>> }): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /**
   * Records of one partition from `offset` on, in offset order (only committed ones:
   * read_committed), at most about `maxBytes`. Resolves with [] when there is nothing at
   * `offset` after waiting up to `maxWaitMs`. MUST NOT return a record below `offset`.
   */
  fetch(topic: string, partition: number, offset: number, options?: { maxBytes?: number; maxWaitMs?: number }): Promise<KafkaRecord[]>;
  producer(): Promise<KafkaProducer>;
  close(): Promise<void>;
}

/** A Kafka failure worth trying again (leader moved, broker restarting, coordinator loading, network). */
export function isRetriableKafkaError(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return false;
  const e = error as { retriable?: unknown; name?: unknown; type?: unknown; cause?: unknown; originalError?: unknown } | null;
  if (e === null || typeof e !== "object") return false;
  if (e.retriable === true) return true;
  if (typeof e.name === "string" && RETRIABLE_NAMES.has(e.name)) return true;
  if (typeof e.type === "string" && RETRIABLE_TYPES.has(e.type)) return true;
  return e.originalError !== undefined ? isRetriableKafkaError(e.originalError) : e.cause !== undefined && isRetriableKafkaError(e.cause);
}

// kafkajs error classes whose cause is transient (its own retriable flag is set on
// protocol errors; these cover the connection layer and exhausted retries).
const RETRIABLE_NAMES = new Set(["KafkaJSConnectionError", "KafkaJSRequestTimeoutError", "KafkaJSBrokerNotFound", "KafkaJSNumberOfRetriesExceeded", "KafkaJSConnectionClosedError", "KafkaJSLockTimeout", "KafkaJSMetadataNotLoaded", "KafkaJSStaleTopicMetadataAssignment", "KafkaJSNoBrokerAvailableError"]);
const RETRIABLE_TYPES = new Set([
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT",
  "NETWORK_EXCEPTION",
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "CONCURRENT_TRANSACTIONS",
  "REBALANCE_IN_PROGRESS",
  "KAFKA_STORAGE_ERROR",
  "FETCH_SESSION_ID_NOT_FOUND",
  "OFFSET_NOT_AVAILABLE",
]);

/**
 * Runs `work`, retrying retriable Kafka errors with exponential backoff, at most
 * `attempts` times in all; anything else, or the last failure, is thrown.
 */
export async function withKafkaRetry<T>(work: () => Promise<T>, options: { attempts?: number; initialMs?: number; maxMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  let delay = options.initialMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetriableKafkaError(error) || options.signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(options.maxMs ?? 5_000, delay * 2);
    }
  }
}
