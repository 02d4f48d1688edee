import type pg from "pg";
import type { Logger } from "pino";
import { eventJson } from "../api/representations.js";
import { isLedgerError, LedgerError } from "../core/index.js";
import { fenced } from "../follower/cursor-store.js";
import { isRetriable, type FollowerBatch, type FollowerContext, type FollowerHandler } from "../follower/index.js";
import { isRetriableKafkaError, type KafkaPort, type KafkaProducer, type OutgoingRecord } from "./kafka-port.js";
import { CONTROL_KEY, controlHeaders, eventHeaders, eventValue, partitionFor, type ControlValue } from "./record-format.js";
import { ensureTopic, readTails } from "./topic.js";

export interface RelayHandlerOptions {
  /** The follower's name: the handler re-checks its epoch under a row lock before every send. */
  followerName: string;
  topic: string;
  origin: string;
  /** Partitions of a topic the relay creates. */
  partitions: number;
  replicationFactor?: number;
  /** Least time between two rounds of control records. */
  controlIntervalMs: number;
}

export interface RelayHandlerDeps {
  kafka: KafkaPort;
  logger?: Logger;
  now?: () => number;
  /** Per event, after its batch committed: ms from recordedAt to acknowledged by Kafka. */
  onPublished?: (latenciesMs: readonly number[]) => void;
}

/**
 * The relay as a follower handler: publishes each batch of committed events to the topic,
 * in position order, keyed and partitioned by stream, then lets the follower move its
 * cursor. Effects outside PostgreSQL cannot join its transaction, so the handler makes
 * re-publishing harmless instead: at every (re)start it reads each partition's last event
 * and skips what is already there, so a crash between Kafka's ack and the cursor commit
 * costs nothing, and a consumer drops the rare duplicate a stale owner may still write.
 */
export function createRelayHandler(deps: RelayHandlerDeps, options: RelayHandlerOptions): FollowerHandler & { readonly partitions: number | undefined; close(): Promise<void> } {
  const { kafka } = deps;
  const now = deps.now ?? Date.now;
  let producer: KafkaProducer | undefined;
  let partitions: number | undefined;
  // Last event position published to each partition (as read from the topic at start, then as sent).
  let tails: number[] = [];
  let lastControlAt = 0;
  let lastControlSize = 0;
  let published: number[] = [];
  // partitionFor hashes the stream id; streams recur, so remember the answer (bounded).
  const partitionOf = new Map<string, number>();
  const partitionFor_ = (streamId: string, count: number): number => {
    let p = partitionOf.get(streamId);
    if (p === undefined) {
      if (partitionOf.size >= 100_000) partitionOf.clear();
      p = partitionFor(streamId, count);
      partitionOf.set(streamId, p);
    }
    return p;
  };

  async function dropProducer(): Promise<void> {
    const old = producer;
    producer = undefined;
    await old?.close().catch(() => undefined);
  }

  async function controlCheckpoint(tx: pg.PoolClient, upTo: number): Promise<ControlValue["checkpoint"] | undefined> {
    const { rows } = await tx.query<{ tree_size: number; root_hash: Buffer; note: string }>(
      "SELECT tree_size, root_hash, note FROM annal.checkpoints WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size DESC LIMIT 1",
      [lastControlSize, upTo],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const lines = await tx.query<{ line: string }>("SELECT line FROM annal.cosignatures WHERE tree_size = $1 ORDER BY witness", [row.tree_size]);
    return { treeSize: row.tree_size, rootHash: row.root_hash.toString("base64"), note: row.note + lines.rows.map((r) => r.line).join("") };
  }

  return {
    get partitions() {
      return partitions;
    },
    async start({ cursor, pool }) {
      await dropProducer();
      partitionOf.clear();
      try {
        const client = await pool.connect();
        try {
          partitions = await ensureTopic(kafka, client, options.topic, { partitions: options.partitions, ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }) });
          const found = await readTails(kafka, options.topic, options.origin);
          const { rows } = await client.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1");
          const head = rows[0]?.position ?? 0;
          const furthest = Math.max(0, ...found.map((t) => t.lastPosition));
          if (furthest > head) {
            throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${options.topic} holds position ${furthest}, beyond this log's durable head ${head}: it was written from another database`, { details: { topic: options.topic, position: furthest } });
          }
          tails = found.map((t) => t.lastPosition);
          deps.logger?.info({ topic: options.topic, partitions, cursor: cursor.position, published: furthest }, "relay: topic checked; resuming after what each partition already holds");
        } finally {
          client.release();
        }
        producer = await kafka.producer();
      } catch (error) {
        // Our own refusals and PostgreSQL's errors as they are; Kafka's as ERR_KAFKA_UNAVAILABLE (retried unless Kafka says never).
        if (isLedgerError(error) || isRetriable(error)) throw error;
        throw kafkaFailure(error, `could not open topic ${options.topic}`);
      }
      lastControlAt = 0;
      lastControlSize = 0;
    },

    async handle(batch: FollowerBatch, { tx, epoch }: FollowerContext) {
      if (producer === undefined || partitions === undefined) throw new LedgerError("ERR_KAFKA_UNAVAILABLE", "the relay's producer is gone; restarting it", { retriable: true });
      // The fence for Kafka: a new owner's claim of the follower row waits for this lock,
      // so once it holds the lease, this instance can no longer pass this check and send.
      const { rows } = await tx.query<{ epoch: number }>("SELECT epoch FROM annal.followers WHERE name = $1 FOR UPDATE", [options.followerName]);
      if (rows[0]?.epoch !== epoch) throw fenced(options.followerName, epoch, batch.from.position + 1);
      // A frozen owner must not hold that lock (and the new owner) forever.
      await tx.query("SET LOCAL idle_in_transaction_session_timeout = '120s'");

      const count = partitions;
      const next = tails.slice();
      const records: OutgoingRecord[] = [];
      const checkpoint = now() - lastControlAt >= options.controlIntervalMs ? await controlCheckpoint(tx, batch.to.position) : undefined;
      const pushControls = () => {
        if (checkpoint === undefined) return;
        const time = new Date(now()).toISOString();
        for (let p = 0; p < count; p++) {
          // A partition already holding events past the checkpoint (read back after a
          // restart) gets none: a control record sits after exactly the events it covers.
          if (next[p]! > checkpoint.treeSize) continue;
          const value: ControlValue = { kind: "checkpoint", partition: p, partitions: count, lastPosition: next[p]!, checkpoint };
          records.push({ partition: p, key: CONTROL_KEY, value: JSON.stringify(value), headers: controlHeaders(options.origin, value, time) });
        }
      };
      let controlsPlaced = checkpoint === undefined || checkpoint.treeSize <= batch.from.position;
      if (controlsPlaced) pushControls();
      for (const event of batch.events) {
        if (!controlsPlaced && event.position > checkpoint!.treeSize) {
          pushControls();
          controlsPlaced = true;
        }
        const p = partitionFor_(event.streamId, count);
        if (event.position <= next[p]!) continue; // already in the partition
        records.push({ partition: p, key: event.streamId, value: eventValue(eventJson(event)), headers: eventHeaders(event, options.origin, next[p]!) });
        next[p] = event.position;
      }
      if (!controlsPlaced) pushControls();
      if (records.length > 0) {
        try {
          await producer.send(options.topic, records);
        } catch (error) {
          // Rewind: a fresh producer, and the tails read again from the topic at restart.
          await dropProducer();
          throw kafkaFailure(error, `publishing positions ${batch.from.position + 1}..${batch.to.position} failed`, batch.from.position + 1);
        }
      }
      const ackedAt = now();
      published = [];
      for (const event of batch.events) if (event.position > tails[partitionFor_(event.streamId, count)]!) published.push(ackedAt - Date.parse(event.recordedAt));
      tails = next;
      if (checkpoint !== undefined) {
        lastControlAt = ackedAt;
        lastControlSize = checkpoint.treeSize;
      }
    },

    committed() {
      if (published.length > 0) deps.onPublished?.(published);
      published = [];
    },

    close: dropProducer,
  };
}

function kafkaFailure(error: unknown, what: string, position?: number): LedgerError {
  const reason = error instanceof Error ? error.message : String(error);
  // Retried (with the follower's backoff) unless Kafka says it never will succeed (a
  // record too large, an authorization error) or it is a programming error.
  const programming = error instanceof TypeError || error instanceof RangeError;
  const retriable = !programming && (isRetriableKafkaError(error) || (error as { retriable?: unknown } | null)?.retriable !== false);
  return new LedgerError("ERR_KAFKA_UNAVAILABLE", `${what}: ${reason}`, { cause: error, retriable, details: position === undefined ? {} : { position } });
}
