import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeDataHash, computeEventHash, fromBase64, toBase64, type EventRecord } from "../../src/core/index.js";
import { createKafkajsPort, createMemoryKafka, createRelayService, type KafkaPort, type KafkaRecord, type OutgoingRecord } from "../../src/relay/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { createVerifyPool } from "../../src/cli/verify-pool.js";
import type { SignatureCheck } from "../../src/relay/consumer/index.js";
import { consumeAll, ledgerBackfill, trustOf } from "../support/kafka.js";
import { kafkaBrokers, randomName } from "../support/services.js";

// A hostile (or broken) producer writes the topic: each case copies a topic the relay
// wrote, changes one thing, and the verifying consumer must name exactly that.

const PARTITIONS = 2;
let annal: TestAnnal;
let kafka: KafkaPort;
let source: KafkaRecord[][];
const topics: string[] = [];
const decoder = new TextDecoder();

beforeAll(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  kafka = createKafkajsPort({ brokers: kafkaBrokers() });
  for (let i = 0; i < 40; i++) await annal.ledger.append({ streamId: `acct-${i % 5}`, events: [{ type: "Credited", data: { amount: i } }] });
  // The honest topic, written by the relay (to the in-memory port; copied to the real broker below).
  const memory = createMemoryKafka();
  const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka: memory }, { brokers: [], topic: "honest", origin: annal.config.origin, partitions: PARTITIONS, controlIntervalMs: 0, batchSize: 7, pollIntervalMs: 20 });
  relay.start();
  await eventually(() => relay.status(), (s) => s?.position === 40);
  await relay.stop();
  source = [];
  for (let p = 0; p < PARTITIONS; p++) source.push(await memory.fetch("honest", p, 0, { maxBytes: 1 << 30 }));
});
afterAll(async () => {
  for (const topic of topics) await kafka.deleteTopic(topic).catch(() => undefined);
  await kafka?.close();
  await annal?.close();
});

const isEvent = (r: KafkaRecord) => decoder.decode(r.headers["annal_record"]) === "event";
const positionOf = (r: KafkaRecord) => (JSON.parse(decoder.decode(r.value!)) as EventRecord).position;
const outgoing = (r: KafkaRecord, change: Partial<OutgoingRecord> = {}): OutgoingRecord => ({ partition: r.partition, key: r.key, value: r.value!, headers: r.headers, ...change });

/** Writes `partitions` (lists of records) to a new topic on the real broker. */
async function hostileTopic(partitions: OutgoingRecord[][]): Promise<string> {
  const topic = randomName("hostile");
  topics.push(topic);
  await kafka.createTopic(topic, { partitions: PARTITIONS, configs: { "retention.ms": "-1", "retention.bytes": "-1" } });
  const producer = await kafka.producer();
  await producer.send(topic, partitions.flat());
  await producer.close();
  return topic;
}

/** The honest topic with partition 0's records passed through `edit`. */
function edited(edit: (records: KafkaRecord[]) => OutgoingRecord[]): OutgoingRecord[][] {
  return source.map((records, p) => (p === 0 ? edit(records) : records.map((r) => outgoing(r))));
}

/** The index of the `n`th event record of a partition. */
function nthEvent(records: KafkaRecord[], n: number): number {
  let seen = -1;
  return records.findIndex((r) => isEvent(r) && ++seen === n);
}

const ALL = Array.from({ length: 40 }, (_, i) => i + 1);

describe("a hostile producer against the verifying consumer", () => {
  it("the honest copy: everything verified, nothing reported", async () => {
    const topic = await hostileTopic(edited((rs) => rs.map((r) => outgoing(r))));
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.position)).toEqual(ALL);
    expect(result.incidents).toEqual([]);
    expect(result.summary.checkpoints).toBeGreaterThan(0);
  });

  it("reorder: two events of a partition swapped are named a reorder and taken in order", async () => {
    const topic = await hostileTopic(
      edited((rs) => {
        const i = nthEvent(rs, 2);
        const j = nthEvent(rs, 3);
        const out = rs.map((r) => outgoing(r));
        [out[i], out[j]] = [out[j]!, out[i]!];
        return out;
      }),
    );
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.position)).toEqual(ALL);
    expect(result.incidents.map((i) => i.kind)).toContain("reorder");
    expect(result.incidents.every((i) => i.kind === "reorder" || i.kind === "duplicate")).toBe(true);
  });

  it("duplicate: a record written twice is dropped and named a duplicate", async () => {
    const topic = await hostileTopic(
      edited((rs) => {
        const i = nthEvent(rs, 4);
        const out = rs.map((r) => outgoing(r));
        out.splice(i + 2, 0, outgoing(rs[i]!));
        return out;
      }),
    );
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.position)).toEqual(ALL);
    expect(result.incidents.map((i) => [i.kind, i.position])).toEqual([["duplicate", positionOf(source[0]![nthEvent(source[0]!, 4)]!)]]);
  });

  it("drop: a missing event is a gap, filled from the API and verified; with no API it halts with ERR_KAFKA_GAP", async () => {
    const dropped = positionOf(source[0]![nthEvent(source[0]!, 5)]!);
    const topic = await hostileTopic(edited((rs) => rs.filter((_, k) => k !== nthEvent(rs, 5)).map((r) => outgoing(r))));
    const filled = await consumeAll(kafka, topic, trustOf(annal), { backfill: ledgerBackfill(annal) });
    expect(filled.error).toBeUndefined();
    expect(filled.events.map((e) => e.position)).toEqual(ALL);
    expect(filled.incidents.map((i) => [i.kind, i.position])).toEqual([["gap", dropped]]);
    const halted = await consumeAll(kafka, topic, trustOf(annal));
    expect(halted.error).toMatchObject({ code: "ERR_KAFKA_GAP", details: { position: dropped } });
    expect(halted.events.at(-1)?.position).toBe(dropped - 1);
  });

  it("unsigned: an event whose signature is missing or not the ledger's is tamper, and halts", async () => {
    const target = nthEvent(source[0]!, 3);
    const position = positionOf(source[0]![target]!);
    const record = JSON.parse(decoder.decode(source[0]![target]!.value!)) as EventRecord;
    const unsigned = JSON.stringify({ ...record, signature: toBase64(new Uint8Array(64)) });
    const topic = await hostileTopic(edited((rs) => rs.map((r, k) => outgoing(r, k === target ? { value: unsigned } : {}))));
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toMatchObject({ code: "ERR_KAFKA_TAMPER", details: { position } });
    expect(result.incidents.map((i) => i.kind)).toEqual(["tamper"]);
    expect(result.events.every((e) => e.position < position)).toBe(true);
  });

  it("with signatures checked in batches on worker threads: the honest copy verifies, and an unsigned event is still tamper", async () => {
    const pool = createVerifyPool(2);
    try {
      const verifySignatures = (checks: readonly SignatureCheck[]) => pool.firstFailure(checks);
      const honest = await consumeAll(kafka, await hostileTopic(edited((rs) => rs.map((r) => outgoing(r)))), trustOf(annal), { verifySignatures });
      expect(honest.error).toBeUndefined();
      expect(honest.events.map((e) => e.position)).toEqual(ALL);
      const target = nthEvent(source[0]!, 4);
      const position = positionOf(source[0]![target]!);
      const record = JSON.parse(decoder.decode(source[0]![target]!.value!)) as EventRecord;
      // A canonical signature of the right length that is simply not the ledger's.
      const forged = JSON.stringify({ ...record, signature: toBase64((await annal.signer.signMany([new Uint8Array(32).fill(1)]))[0]!) });
      const topic = await hostileTopic(edited((rs) => rs.map((r, k) => outgoing(r, k === target ? { value: forged } : {}))));
      const result = await consumeAll(kafka, topic, trustOf(annal), { verifySignatures });
      expect(result.error).toMatchObject({ code: "ERR_KAFKA_TAMPER", details: { position } });
      expect(result.incidents.map((i) => i.kind)).toEqual(["tamper"]);
      expect(result.events.every((e) => e.position < position)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it("header against value: a ce_subject that disagrees with the signed record is tamper, and halts", async () => {
    const target = nthEvent(source[0]!, 1);
    const position = positionOf(source[0]![target]!);
    const topic = await hostileTopic(edited((rs) => rs.map((r, k) => outgoing(r, k === target ? { headers: { ...r.headers, ce_subject: "acct-999" } } : {}))));
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toMatchObject({ code: "ERR_KAFKA_TAMPER", details: { position } });
    expect(result.incidents).toMatchObject([{ kind: "tamper", position, partition: 0 }]);
    expect(result.incidents[0]!.reason).toMatch(/ce_subject/);
  });

  it("fork: a second validly signed event at a position already taken halts as a fork, with both records as evidence", async () => {
    const target = nthEvent(source[0]!, 2);
    const original = JSON.parse(decoder.decode(source[0]![target]!.value!)) as EventRecord;
    // What only the key holder can make: the same stream version with other data, signed.
    const data = { amount: -1_000_000 };
    const forged: EventRecord = { ...original, data, dataHash: toBase64(computeDataHash(fromBase64(original.dataSalt!)!, data)) };
    forged.hash = toBase64(computeEventHash(forged));
    forged.signature = toBase64((await annal.signer.signMany([fromBase64(forged.hash)!]))[0]!);
    const headers = { ...source[0]![target]!.headers, annal_hash: new TextEncoder().encode(forged.hash) };
    const topic = await hostileTopic(
      edited((rs) => {
        const out = rs.map((r) => outgoing(r));
        out.splice(target + 1, 0, outgoing(rs[target]!, { value: JSON.stringify(forged), headers }));
        return out;
      }),
    );
    const result = await consumeAll(kafka, topic, trustOf(annal));
    expect(result.error).toMatchObject({ code: "ERR_KAFKA_FORK", details: { position: original.position } });
    expect(result.incidents.map((i) => i.kind)).toEqual(["fork"]);
    const evidence = result.incidents[0]!.evidence as EventRecord[];
    expect(evidence.map((e) => e.hash)).toEqual([original.hash, forged.hash]);
  });
});
