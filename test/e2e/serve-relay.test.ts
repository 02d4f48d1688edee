import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpBackfill, parseTrustedKey, type TrustedKey } from "../../src/relay/consumer/index.js";
import { createKafkajsPort, type KafkaPort } from "../../src/relay/index.js";
import { eventually } from "../support/followers.js";
import { consumeAll } from "../support/kafka.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createTestDatabase, kafkaBrokers, randomName } from "../support/services.js";

let server: ServerProcess;
let kafka: KafkaPort;
let home: string;
let drop: () => Promise<void>;
const topic = randomName("serve-relay");

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = () => db.drop();
  home = await mkdtemp(join(tmpdir(), "annal-serve-relay-"));
  server = await startServerProcess({ ANNAL_AUTH: "off", DATABASE_URL: db.url, ANNAL_HOME: home, ANNAL_KAFKA_BROKERS: kafkaBrokers().join(","), ANNAL_KAFKA_TOPIC: topic, ANNAL_KAFKA_PARTITIONS: "3", ANNAL_KAFKA_CONTROL_INTERVAL_MS: "200" });
  kafka = createKafkajsPort({ brokers: kafkaBrokers() });
});
afterAll(async () => {
  await server?.stop();
  await kafka?.deleteTopic(topic).catch(() => undefined);
  await kafka?.close();
  await drop?.();
  await rm(home, { recursive: true, force: true });
});

describe("annal serve with ANNAL_KAFKA_BROKERS", () => {
  it("relays what is appended over HTTP, reports relay metrics, and the consumer verifies it; the API backfill serves the same records", async () => {
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${server.url}/streams/web-${i % 4}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "Clicked", data: { i } }] }) });
      expect(response.status).toBe(201);
    }
    const keys = (await (await fetch(`${server.url}/keys`)).json()) as { keys: Array<{ noteVerifierKey: string }> };
    const trust = { keys: keys.keys.map((k) => parseTrustedKey(k.noteVerifierKey) as TrustedKey), origin: "localhost/annal-dev" };
    const consumed = await eventually(() => consumeAll(kafka, topic, trust), (c) => c.events.length === 30, 30_000);
    expect(consumed.error).toBeUndefined();
    expect(consumed.events.map((e) => e.position)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`annal_relay_lag_events\\{topic="${topic}"\\} 0`));
    expect(metrics).toMatch(/annal_relay_publish_latency_seconds_count\{topic="[^"]+"\} 30/);
    const backfilled = await createHttpBackfill(server.url).range(5, 12);
    expect(backfilled).toEqual(consumed.events.slice(4, 12));
  });
});
