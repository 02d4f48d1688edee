import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFollowerStatus } from "../../src/follower/index.js";
import { createKafkajsPort, relayFollowerName, type KafkaPort } from "../../src/relay/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually } from "../support/followers.js";
import { consumeAll, trustOf } from "../support/kafka.js";
import { REPO_ROOT } from "../support/processes.js";
import { kafkaBrokers, randomName } from "../support/services.js";

let annal: TestAnnal;
let kafka: KafkaPort;
const topic = randomName("relay-crash");
const children: ChildProcess[] = [];

beforeAll(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  kafka = createKafkajsPort({ brokers: kafkaBrokers() });
});
afterAll(async () => {
  // A failed run must not leave a relay behind.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await kafka?.deleteTopic(topic).catch(() => undefined);
  await kafka?.close();
  await annal?.close();
});

/** `annal relay` as an operator runs it: its own process, configured by the environment. */
function startRelayProcess(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [`${REPO_ROOT}bin/annal.js`, "relay"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: annal.adminUrl,
      ANNAL_ORIGIN: annal.config.origin,
      ANNAL_KAFKA_BROKERS: kafkaBrokers().join(","),
      ANNAL_KAFKA_TOPIC: topic,
      ANNAL_KAFKA_PARTITIONS: "4",
      ANNAL_KAFKA_CONTROL_INTERVAL_MS: "300",
      ANNAL_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const status = async () => (await readFollowerStatus(annal.pool, [relayFollowerName(topic)]))[0];

describe("kill -9 of the relay mid-publish", () => {
  it("after a restart every position is in the topic exactly once and the consumer verifies all of them", async () => {
    const total = 6000;
    let appended = 0;
    // Writers keep appending through the crash and the restart.
    const writing = (async () => {
      for (let i = 0; i < total / 20; i++) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => annal.ledger.append({ streamId: `crash-${(i * 20 + j) % 97}`, events: [{ type: "Touched", data: { i, j } }] })));
        appended += 20;
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const first = startRelayProcess();
    const midway = await eventually(status, (s) => (s?.position ?? 0) >= 800, 60_000);
    expect(midway?.position, first.output()).toBeGreaterThanOrEqual(800);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    const killedAt = (await status())!.position;
    expect(killedAt).toBeLessThan(total);

    const second = startRelayProcess();
    await writing;
    expect(appended).toBe(total);
    const done = await eventually(status, (s) => s?.position === total, 90_000);
    expect(done?.position, second.output()).toBe(total);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    // Publish nothing already there: the restarted relay read each partition's tail.
    const offsets = await kafka.offsets(topic);
    let eventRecords = 0;
    for (const { partition, high } of offsets) {
      for (let offset = 0; offset < high; ) {
        const records = await kafka.fetch(topic, partition, offset, { maxBytes: 16 * 1024 * 1024 });
        if (records.length === 0) break;
        eventRecords += records.filter((r) => new TextDecoder().decode(r.headers["annal_record"]) === "event").length;
        offset = records.at(-1)!.offset + 1;
      }
    }
    expect(eventRecords).toBe(total);

    const consumed = await consumeAll(kafka, topic, trustOf(annal));
    expect(consumed.error).toBeUndefined();
    expect(consumed.events.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(consumed.incidents.filter((i) => i.kind !== "duplicate")).toEqual([]);
  }, 240_000);
});
