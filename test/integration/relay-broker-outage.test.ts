import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafkajsPort, createRelayService, type KafkaPort } from "../../src/relay/index.js";
import { resolveCacheLayout, type CacheLayout } from "../../scripts/services/cache.js";
import { createKafkaService } from "../../scripts/services/kafka.js";
import { pickPort } from "../../scripts/services/processes.js";
import type { KafkaState } from "../../scripts/services/state.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { consumeAll, trustOf } from "../support/kafka.js";
import { randomName } from "../support/services.js";
import { captureLogger } from "../support/log-capture.js";

// A broker of its own (same machinery as the suite's, its own ports and data), so that
// stopping it for 30 s disturbs no other test.
const OUTAGE_MS = 30_000;
let annal: TestAnnal;
let home: string;
let layout: CacheLayout;
let broker: ReturnType<typeof createKafkaService>;
let state: KafkaState | undefined;
let kafka: KafkaPort;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "annal-outage-kafka-"));
  layout = { root: resolveCacheLayout().root, instance: home, stateFile: join(home, "state.json"), logs: join(home, "logs") };
  broker = createKafkaService({ layout }, { heap: "384m" });
  state = await broker.start(undefined, (preferred) => pickPort(preferred));
  kafka = createKafkajsPort({ brokers: [`127.0.0.1:${state.port}`] });
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
}, 180_000);
afterAll(async () => {
  await kafka?.close();
  if (state) await broker.stop(state);
  await annal?.close();
  await rm(home, { recursive: true, force: true });
}, 120_000);

describe("the broker stopped for 30 s under appends", () => {
  it("appends go on; when it returns the relay catches up in order and nothing is lost", async () => {
    const topic = randomName("outage");
    const relay = createRelayService(
      { pool: annal.pool, connect: leaseConnector(annal), logger: captureLogger("relay-broker-outage") },
      { brokers: [`127.0.0.1:${state!.port}`], topic, origin: annal.config.origin, partitions: 3, controlIntervalMs: 500, pollIntervalMs: 50, backoff: { initialMs: 200, maxMs: 2_000 } },
    );
    relay.start();
    let appended = 0;
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await annal.ledger.append({ streamId: `outage-${appended % 31}`, events: [{ type: "Touched", data: { n: appended } }] });
        appended++;
      }
    };
    await append(300);
    await eventually(() => relay.status(), (s) => s?.position === 300, 30_000);

    await broker.stop(state!);
    const stoppedAt = Date.now();
    // Appends go on while the broker is gone.
    while (Date.now() - stoppedAt < OUTAGE_MS) await append(20).then(() => new Promise((r) => setTimeout(r, 200)));
    const duringOutage = appended - 300;
    expect(duringOutage).toBeGreaterThan(100);
    const behind = await relay.status();
    expect(behind!.position).toBeLessThan(appended);
    expect(relay.follower?.state).not.toBe("failed");

    state = await broker.start(state, (preferred) => pickPort(preferred));
    await append(100);
    const caughtUp = await eventually(() => relay.status(), (s) => s?.position === appended, 90_000);
    expect(caughtUp?.position).toBe(appended);
    await relay.stop();

    const consumed = await consumeAll(kafka, topic, trustOf(annal));
    expect(consumed.error).toBeUndefined();
    expect(consumed.events.map((e) => e.position)).toEqual(Array.from({ length: appended }, (_, i) => i + 1));
    expect(consumed.incidents.filter((i) => i.kind !== "duplicate")).toEqual([]);
    await kafka.deleteTopic(topic).catch(() => undefined);
  }, 300_000);
});
