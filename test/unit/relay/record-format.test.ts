import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { partitionFor, sequenceOf, topicSettingProblems } from "../../../src/relay/index.js";

describe("the topic's record format", () => {
  it("partitions a stream by the first 4 bytes of SHA-256 of its id, big-endian, modulo the count", () => {
    // SHA-256("order-1") = 0bafe221...: 0x0bafe221 = 196076065, and 196076065 mod 12 = 1.
    expect(partitionFor("order-1", 12)).toBe(1);
    expect(partitionFor("order-1", 1)).toBe(0);
    const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionFor(`s-${i}`, 8)));
    expect(spread.size).toBe(8);
    expect(() => partitionFor("x", 0)).toThrow(RangeError);
  });

  it("zero-pads ce_sequence to 20 digits so it also sorts as a string", () => {
    expect(sequenceOf(42)).toBe("00000000000000000042");
    expect(sequenceOf(9) < sequenceOf(10)).toBe(true);
  });

  it("refuses settings that would drop records: compaction, finite retention by time or size", () => {
    expect(topicSettingProblems({ "cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1" })).toEqual([]);
    expect(topicSettingProblems({ "cleanup.policy": "compact" })).toHaveLength(1);
    expect(topicSettingProblems({ "cleanup.policy": "delete,compact" })).toHaveLength(1);
    expect(topicSettingProblems({ "retention.ms": "604800000" })).toHaveLength(1);
    expect(topicSettingProblems({ "retention.bytes": "1000" })).toHaveLength(1);
  });

  it("reads the relay's settings from the environment: off without brokers, annal.events by default, topic names checked", () => {
    const base = { ANNAL_HOME: "/tmp/x" };
    expect(loadConfig(base)).toMatchObject({ kafkaBrokers: [], kafkaTopic: "annal.events", kafkaPartitions: 12, kafkaControlIntervalMs: 10_000 });
    expect(loadConfig({ ...base, ANNAL_KAFKA_BROKERS: " a:9092, b:9092 ,", ANNAL_KAFKA_TOPIC: "ledger.prod" })).toMatchObject({ kafkaBrokers: ["a:9092", "b:9092"], kafkaTopic: "ledger.prod" });
    expect(() => loadConfig({ ...base, ANNAL_KAFKA_TOPIC: "Bad Topic" })).toThrow(/ANNAL_KAFKA_TOPIC/);
    expect(() => loadConfig({ ...base, ANNAL_KAFKA_PARTITIONS: "0" })).toThrow(/ANNAL_KAFKA_PARTITIONS/);
  });
});
