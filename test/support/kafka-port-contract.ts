import { describe, expect, it } from "vitest";
import type { KafkaPort } from "../../src/relay/index.js";

/**
 * The KafkaPort contract: one suite, run against every adapter (the kafkajs one on the
 * real broker, the in-memory fake). Each test uses a fresh topic.
 */
export function describeKafkaPortContract(name: string, setup: () => { port: () => KafkaPort; topic: () => string }): void {
  const { port, topic } = setup();
  const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

  describe(`KafkaPort contract: ${name}`, () => {
    it("describes an absent topic as undefined, a created one with its partitions and settings; a second create fails", async () => {
      const t = topic();
      expect(await port().describeTopic(t)).toBeUndefined();
      await port().createTopic(t, { partitions: 3, configs: { "cleanup.policy": "delete", "retention.ms": "-1" } });
      const described = await port().describeTopic(t);
      expect(described?.partitions).toBe(3);
      expect(described?.configs).toMatchObject({ "cleanup.policy": "delete", "retention.ms": "-1" });
      await expect(port().createTopic(t, { partitions: 3, configs: {} })).rejects.toThrow();
    });

    it("appends each partition's records in the order sent, and fetches them back byte for byte from any offset", async () => {
      const t = topic();
      await port().createTopic(t, { partitions: 2, configs: {} });
      const producer = await port().producer();
      const binary = new Uint8Array([0, 255, 1, 254]);
      await producer.send(t, [
        ...Array.from({ length: 5 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}`, headers: { h: `x${i}`, bin: binary } })),
        { partition: 1, key: null, value: new Uint8Array([7, 8]), headers: {} },
      ]);
      await producer.send(t, [{ partition: 0, key: "k5", value: "v5", headers: {} }]);
      await producer.close();
      expect(await port().offsets(t)).toEqual([
        { partition: 0, low: 0, high: 4 },
        { partition: 1, low: 0, high: 3 },
      ]);
      const p0 = await port().fetch(t, 0, 0);
      expect(p0.map((r) => [r.partition, r.offset, text(r.key), text(r.value)])).toEqual([
        [0, 0, "k0", "v0"],
        [0, 1, "k2", "v2"],
        [0, 2, "k4", "v4"],
        [0, 3, "k5", "v5"],
      ]);
      expect(text(p0[0]!.headers["h"]!)).toBe("x0");
      expect([...p0[0]!.headers["bin"]!]).toEqual([...binary]);
      const p1 = await port().fetch(t, 1, 2);
      expect(p1.map((r) => [r.offset, r.key, [...r.value!]])).toEqual([[2, null, [7, 8]]]);
      // Never below the offset asked for, even inside one stored batch.
      expect((await port().fetch(t, 0, 2)).map((r) => r.offset)).toEqual([2, 3]);
    });

    it("answers [] at the end of a partition, and sees records sent later", async () => {
      const t = topic();
      await port().createTopic(t, { partitions: 1, configs: {} });
      expect(await port().fetch(t, 0, 0, { maxWaitMs: 50 })).toEqual([]);
      const producer = await port().producer();
      await producer.send(t, [{ partition: 0, key: "a", value: "1", headers: {} }]);
      await producer.close();
      expect((await port().fetch(t, 0, 0, { maxWaitMs: 50 })).map((r) => text(r.value))).toEqual(["1"]);
      expect(await port().fetch(t, 0, 1, { maxWaitMs: 50 })).toEqual([]);
    });

    it("a new producer continues after an earlier one, in order", async () => {
      const t = topic();
      await port().createTopic(t, { partitions: 1, configs: {} });
      for (let round = 0; round < 3; round++) {
        const producer = await port().producer();
        await producer.send(t, Array.from({ length: 100 }, (_, i) => ({ partition: 0, key: "s", value: String(round * 100 + i), headers: {} })));
        await producer.close();
      }
      const values: string[] = [];
      for (let offset = 0; offset < 300; ) {
        const records = await port().fetch(t, 0, offset);
        values.push(...records.map((r) => text(r.value)!));
        offset = records.at(-1)!.offset + 1;
      }
      expect(values).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    });
  });
}
