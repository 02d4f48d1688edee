import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPostgresCosignatures } from "../../src/store/postgres/cosignatures.js";
import { cosign, resolveTrustedKey } from "../../src/verify/index.js";
import type { EventRecord } from "../../src/core/index.js";
import { createVerifyingConsumer, type ConsumerCursor } from "../../src/relay/consumer/index.js";
import { createMemoryKafka, createRelayService, HEADER } from "../../src/relay/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { consumeAll, trustOf } from "../support/kafka.js";

// The relay and the consumer against the in-memory port (real PostgreSQL): failures a real
// broker produces only by chance, made to happen on purpose.
let annal: TestAnnal;
beforeEach(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
});
afterEach(async () => {
  await annal?.close();
});

async function appendMany(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await annal.ledger.append({ streamId: `m-${i % 11}`, events: [{ type: "Touched", data: { i } }] });
}

describe("relay and consumer on the in-memory port", () => {
  it("a send that fails after writing part of a batch: the relay rewinds, and each position is in the topic exactly once", async () => {
    await appendMany(120);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 3, batchSize: 25, pollIntervalMs: 20, controlIntervalMs: 0, backoff: { initialMs: 10, maxMs: 50 } });
    kafka.failNextSends(0);
    relay.start();
    await eventually(() => relay.status(), (s) => (s?.position ?? 0) >= 25);
    kafka.failNextSends(3, 7);
    await appendMany(30);
    await eventually(() => relay.status(), (s) => s?.position === 150, 20_000);
    await relay.stop();
    const positions: number[] = [];
    for (let p = 0; p < 3; p++) {
      for (const r of await kafka.fetch("t", p, 0, { maxBytes: 1 << 30 })) {
        if (new TextDecoder().decode(r.headers[HEADER.record]) === "event") positions.push(Number(new TextDecoder().decode(r.headers[HEADER.sequence])));
      }
    }
    expect(positions.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    const consumed = await consumeAll(kafka, "t", trustOf(annal));
    expect(consumed.error).toBeUndefined();
    expect(consumed.incidents).toEqual([]);
    expect(consumed.events).toHaveLength(150);
  });

  it("the consumer resumes from the cursor it handed over: the rest arrives once, the chain and tree continue", async () => {
    await appendMany(200);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 4, batchSize: 40, pollIntervalMs: 20, controlIntervalMs: 0 });
    relay.start();
    await eventually(() => relay.status(), (s) => s?.position === 200);
    await relay.stop();
    // First run: stop after the first batch of 50, storing the cursor as an application would.
    const first: EventRecord[] = [];
    let stored: string | undefined;
    const stop = new AbortController();
    const consumer = createVerifyingConsumer({ kafka }, { topic: "t", trust: trustOf(annal), maxBatch: 50 });
    await consumer.run({
      signal: stop.signal,
      apply(batch) {
        first.push(...batch.events);
        stored = JSON.stringify(batch.cursor);
        if (first.length >= 50) stop.abort();
        return Promise.resolve();
      },
    });
    expect(first.length).toBeGreaterThanOrEqual(50);
    const cursor = JSON.parse(stored!) as ConsumerCursor;
    expect(cursor.position).toBe(first.at(-1)!.position);
    const rest = await consumeAll(kafka, "t", trustOf(annal), { cursor });
    expect(rest.error).toBeUndefined();
    expect([...first, ...rest.events].map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // Checkpoints after the resume are checked against the tree rebuilt from the cursor's frontier.
    expect(rest.summary.checkpoints).toBeGreaterThan(0);
    expect(rest.incidents.filter((i) => i.kind !== "duplicate")).toEqual([]);
  });

  it("control records carry the witnesses' cosignatures: a consumer that requires a quorum counts the checkpoints as witnessed", async () => {
    await appendMany(60);
    const seed = new Uint8Array(32).fill(7);
    const witness = { name: "witness.example/w1", publicKey: ed25519.getPublicKey(seed), sign: (m: Uint8Array) => ed25519.sign(m, seed) };
    // What the witness submitter stores after a witness answered: one cosignature line per checkpoint.
    const { rows } = await annal.pool.query<{ tree_size: number; note: string }>("SELECT tree_size, note FROM annal.checkpoints ORDER BY tree_size");
    const cosignatures = createPostgresCosignatures(annal.pool);
    for (const row of rows) await cosignatures.save(row.tree_size, witness.name, cosign(row.note.slice(0, row.note.indexOf("\n\n") + 1), witness, 1_700_000_000), 1_700_000_000);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 2, batchSize: 15, pollIntervalMs: 20, controlIntervalMs: 0 });
    relay.start();
    await eventually(() => relay.status(), (s) => s?.position === 60);
    await relay.stop();
    const trust = { ...trustOf(annal), witnesses: [{ name: witness.name, publicKey: witness.publicKey }], quorum: 1 };
    const consumed = await consumeAll(kafka, "t", trust);
    expect(consumed.error).toBeUndefined();
    expect(consumed.summary.checkpoints).toBeGreaterThan(0);
    expect(consumed.summary.witnessedCheckpoints).toBe(consumed.summary.checkpoints);
    // A witness the log never asked: nothing counts as witnessed, and nothing halts.
    const stranger = { name: "witness.example/w2", publicKey: ed25519.getPublicKey(new Uint8Array(32).fill(9)) };
    const unwitnessed = await consumeAll(kafka, "t", { ...trustOf(annal), witnesses: [stranger], quorum: 1 });
    expect(unwitnessed.error).toBeUndefined();
    expect(unwitnessed.summary.witnessedCheckpoints).toBe(0);
  });

  it("a control record whose lastPosition disagrees with the partition is tamper", async () => {
    await appendMany(40);
    const kafka = createMemoryKafka();
    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), kafka }, { brokers: [], topic: "t", origin: annal.config.origin, partitions: 2, batchSize: 10, pollIntervalMs: 20, controlIntervalMs: 0 });
    relay.start();
    await eventually(() => relay.status(), (s) => s?.position === 40);
    await relay.stop();
    const records = await kafka.fetch("t", 0, 0, { maxBytes: 1 << 30 });
    const hostile = createMemoryKafka();
    await hostile.createTopic("t", { partitions: 2, configs: {} });
    let altered = false;
    for (const p of [0, 1]) {
      for (const r of p === 0 ? records : await kafka.fetch("t", 1, 0, { maxBytes: 1 << 30 })) {
        let value: Uint8Array | string = r.value!;
        const control = new TextDecoder().decode(r.headers[HEADER.record]) === "checkpoint" ? (JSON.parse(new TextDecoder().decode(value)) as { lastPosition: number }) : undefined;
        if (control && p === 0 && !altered && control.lastPosition > 0) {
          value = JSON.stringify({ ...control, lastPosition: control.lastPosition - 1 });
          altered = true;
        }
        hostile.append("t", [{ partition: p, key: r.key, value, headers: r.headers }]);
      }
    }
    expect(altered).toBe(true);
    const consumed = await consumeAll(hostile, "t", trustOf(annal));
    expect(consumed.error).toMatchObject({ code: "ERR_KAFKA_TAMPER" });
    expect(consumed.incidents.map((i) => i.kind)).toEqual(["tamper"]);
  });
});

describe("the verifying consumer across a key rotation", () => {
  it("accepts every event signed by the key in force at its position, with the old and next key trusted or with the published windows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annal-consumer-keys-"));
    const file = async (name: string) => {
      const path = join(dir, name);
      await writeFile(path, generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
      return path;
    };
    const rotating = await startTestAnnal({ ANNAL_AUTH: "off", ANNAL_SIGNING_KEY_FILE: await file("old.pem"), ANNAL_NEXT_SIGNING_KEY: `file:${await file("new.pem")}` });
    try {
      for (let i = 0; i < 40; i++) await rotating.ledger.append({ streamId: `k-${i % 7}`, events: [{ type: "Touched", data: { i } }] });
      const rotation = await rotating.ledger.rotateKey();
      for (let i = 0; i < 40; i++) await rotating.ledger.append({ streamId: `k-${i % 7}`, events: [{ type: "Touched", data: { i } }] });
      const kafka = createMemoryKafka();
      const relay = createRelayService({ pool: rotating.pool, connect: leaseConnector(rotating), kafka }, { brokers: [], topic: "t", origin: rotating.config.origin, partitions: 3, batchSize: 25, pollIntervalMs: 20, controlIntervalMs: 0 });
      relay.start();
      await eventually(() => relay.status(), (s) => s?.position === 81);
      await relay.stop();
      const published = (await rotating.reader.publicKeys()).map((k) => {
        const key = resolveTrustedKey({ verifierKey: k.noteVerifierKey, ...(k.fromPosition ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition ? { toPosition: k.toPosition } : {}) });
        if ("error" in key) throw new Error(key.error);
        return key;
      });
      expect(published.map((k) => [k.fromPosition, k.toPosition])).toEqual([
        [1, rotation.position],
        [rotation.position + 1, undefined],
      ]);
      const both = published.map((k) => ({ name: k.name, publicKey: k.publicKey, keyId: k.keyId }));
      for (const keys of [both, published]) {
        const consumed = await consumeAll(kafka, "t", { keys, origin: rotating.config.origin });
        expect(consumed.error).toBeUndefined();
        expect(consumed.incidents).toEqual([]);
        expect(consumed.events.map((e) => e.keyId)).toEqual(consumed.events.map((e) => (e.position <= rotation.position ? rotation.previousKeyId : rotation.newKeyId)));
        expect(consumed.events).toHaveLength(81);
      }
    } finally {
      await rotating.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
