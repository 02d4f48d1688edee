import type pg from "pg";
import { LedgerError } from "../core/index.js";
import type { KafkaPort, KafkaRecord } from "./kafka-port.js";
import { HEADER } from "./record-format.js";

/** Settings the relay creates its topic with: nothing is ever deleted or compacted away. */
export const TOPIC_CONFIGS = { "cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1" } as const;

type Queryable = Pick<pg.ClientBase, "query">;

/**
 * Makes sure `topic` exists with settings that keep every record, and that its partition
 * count is the one recorded when the relay first used it; answers that count. A stream's
 * partition depends on the count, so a change would scatter a stream's history: refused.
 */
export async function ensureTopic(kafka: KafkaPort, db: Queryable, topic: string, options: { partitions: number; replicationFactor?: number }): Promise<number> {
  const { rows } = await db.query<{ partitions: number }>("SELECT partitions FROM annal.relay_topics WHERE topic = $1", [topic]);
  const recorded = rows[0]?.partitions;
  let described = await kafka.describeTopic(topic);
  if (described === undefined) {
    if (recorded !== undefined) {
      throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} was used by this relay with ${recorded} partitions and is gone: refusing to recreate it (consumers would see a topic without its history); restore it or choose another ANNAL_KAFKA_TOPIC`, { details: { topic } });
    }
    try {
      await kafka.createTopic(topic, { partitions: options.partitions, ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }), configs: TOPIC_CONFIGS });
    } catch (error) {
      // Another relay instance may have created it a moment ago; anything else is thrown below.
      if ((described = await kafka.describeTopic(topic)) === undefined) throw error;
    }
    described ??= await kafka.describeTopic(topic);
    if (described === undefined) throw new LedgerError("ERR_KAFKA_UNAVAILABLE", `topic ${topic} was created but cannot be described yet`, { retriable: true });
  }
  const problems = topicSettingProblems(described.configs);
  if (problems.length > 0) throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} would lose history: ${problems.join("; ")}`, { details: { topic, problems } });
  if (recorded === undefined) {
    await db.query("INSERT INTO annal.relay_topics (topic, partitions) VALUES ($1, $2) ON CONFLICT (topic) DO NOTHING", [topic, described.partitions]);
    const again = await db.query<{ partitions: number }>("SELECT partitions FROM annal.relay_topics WHERE topic = $1", [topic]);
    const now = again.rows[0]?.partitions ?? described.partitions;
    if (now !== described.partitions) throw partitionsChanged(topic, now, described.partitions);
  } else if (recorded !== described.partitions) {
    throw partitionsChanged(topic, recorded, described.partitions);
  }
  return described.partitions;
}

function partitionsChanged(topic: string, recorded: number, now: number): LedgerError {
  return new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} has ${now} partitions, but the relay recorded ${recorded}: a stream's partition depends on the count, so the relay refuses to run (restore the count or relay to a new topic)`, {
    details: { topic, recorded, partitions: now },
  });
}

/** Why a topic's settings would drop records: compaction or a finite retention. */
export function topicSettingProblems(configs: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const policy = configs["cleanup.policy"] ?? "delete";
  if (policy.split(",").map((p) => p.trim()).includes("compact")) problems.push(`cleanup.policy is ${policy} (compaction keeps one record per key: it would drop a stream's history)`);
  if ((configs["retention.ms"] ?? "-1") !== "-1") problems.push(`retention.ms is ${configs["retention.ms"]} (want -1: unlimited)`);
  if ((configs["retention.bytes"] ?? "-1") !== "-1") problems.push(`retention.bytes is ${configs["retention.bytes"]} (want -1: unlimited)`);
  return problems;
}

/** Where a partition ends: the position of its last event record (0: none) and the next offset. */
export interface PartitionTail {
  partition: number;
  lastPosition: number;
  high: number;
}

/**
 * The last event position in every partition, read backwards from the end (control
 * records and foreign records are stepped over). Records from another origin mean the
 * topic belongs to another log: refused.
 */
export async function readTails(kafka: KafkaPort, topic: string, origin: string): Promise<PartitionTail[]> {
  const offsets = await kafka.offsets(topic);
  const tails: PartitionTail[] = [];
  for (const { partition, low, high } of offsets) {
    let lastPosition = 0;
    let window = 16;
    let end = high;
    while (end > low) {
      const from = Math.max(low, end - window);
      const records = (await readRange(kafka, topic, partition, from, end)).reverse();
      const found = records.find((r) => text(r, HEADER.record) === "event");
      if (found !== undefined) {
        const source = text(found, HEADER.source);
        if (source !== origin) throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} partition ${partition} holds events of origin ${JSON.stringify(source)}, not ${origin}: it belongs to another log`, { details: { topic, partition } });
        lastPosition = Number(text(found, HEADER.sequence));
        if (!Number.isSafeInteger(lastPosition) || lastPosition < 1) throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} partition ${partition} offset ${found.offset}: unreadable ce_sequence`, { details: { topic, partition } });
        break;
      }
      end = from;
      window *= 4;
    }
    tails.push({ partition, lastPosition, high });
  }
  return tails;
}

async function readRange(kafka: KafkaPort, topic: string, partition: number, from: number, to: number): Promise<KafkaRecord[]> {
  const out: KafkaRecord[] = [];
  let offset = from;
  while (offset < to) {
    const records = await kafka.fetch(topic, partition, offset, { maxWaitMs: 0 });
    if (records.length === 0) break;
    for (const r of records) if (r.offset < to) out.push(r);
    offset = records[records.length - 1]!.offset + 1;
  }
  return out;
}

const decoder = new TextDecoder();
function text(record: KafkaRecord, header: string): string | undefined {
  const value = record.headers[header];
  return value === undefined ? undefined : decoder.decode(value);
}
