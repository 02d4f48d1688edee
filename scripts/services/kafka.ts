import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { ensureDir, repoRoot, type CacheLayout } from "./cache.js";
import { spawnDetached, stopProcess, waitUntilReady } from "./processes.js";
import type { ServiceDriver } from "./service.js";
import type { KafkaState } from "./state.js";

/** Pinned with scripts/services/kafka/pom.xml (kafka.version); change both together. */
export const KAFKA_VERSION = "4.4.0";

const run = promisify(execFile);

export interface KafkaOptions {
  heap?: string;
  readyTimeoutMs?: number;
}

function serverProperties(state: KafkaState, dataDir: string): string {
  return [
    "# Written by scripts/services on every start; edits are overwritten.",
    "process.roles=broker,controller",
    "node.id=1",
    // A static single voter: the port may change between restarts without reformatting.
    `controller.quorum.voters=1@127.0.0.1:${state.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${state.port},CONTROLLER://127.0.0.1:${state.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${state.port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    `log.dirs=${dataDir}`,
    "num.partitions=1",
    // One node: internal topics cannot have more than one replica.
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=4",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=4",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    // Tests create consumer groups constantly; the default 3 s delay would slow every one.
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=false",
    "",
  ].join("\n");
}

function log4jConfig(file: string): string {
  return [
    "Configuration:",
    "  Appenders:",
    "    File:",
    "      name: file",
    `      fileName: ${JSON.stringify(file)}`,
    "      PatternLayout:",
    '        pattern: "[%d] %p %m (%c)%n"',
    "  Loggers:",
    "    Root:",
    "      level: INFO",
    "      AppenderRef:",
    "        - ref: file",
    "",
  ].join("\n");
}

async function probe(state: KafkaState): Promise<void> {
  const kafka = new Kafka({
    clientId: "annal-services-probe",
    brokers: [`127.0.0.1:${state.port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error("no broker registered yet");
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Apache Kafka in KRaft mode (one combined broker and controller), jars from Maven Central. */
export function createKafkaService(deps: { layout: CacheLayout }, options: KafkaOptions = {}): ServiceDriver<KafkaState> {
  const { layout } = deps;
  const libs = join(layout.root, "kafka", KAFKA_VERSION, "libs");
  const home = join(layout.instance, "kafka");
  const dataDir = join(home, "data");
  const log = join(layout.logs, "kafka.log");
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const java = (args: string[]) => ["-Xms128m", `-Xmx${options.heap ?? "512m"}`, `-Dlog4j2.configurationFile=${join(home, "log4j2.yaml")}`, "-cp", join(libs, "*"), ...args];

  async function prepare(): Promise<void> {
    if (existsSync(join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) return;
    // Download beside the target and rename, so an interrupted fetch never looks complete.
    const partial = `${libs}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    try {
      await run("mvn", ["-q", "-B", "-f", join(repoRoot, "scripts/services/kafka/pom.xml"), "dependency:copy-dependencies",
        "-DincludeScope=runtime", `-DoutputDirectory=${partial}`], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const detail = error as { stdout?: string; stderr?: string; code?: string };
      const reason = detail.code === "ENOENT" ? "mvn not found: install Maven 3.8+ (and Java 17+), or set KAFKA_BROKERS to an existing broker"
        : `${detail.stdout ?? ""}${detail.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
      throw new Error(`fetching Kafka ${KAFKA_VERSION} jars with Maven failed: ${reason}`, { cause: error });
    }
    if (!readdirSync(partial).some((name) => name.startsWith("kafka_2.13-"))) throw new Error(`Maven fetched no kafka_2.13 jar into ${partial}`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(partial, libs);
  }

  return {
    name: "kafka",
    prepare,
    async start(saved, pickPort) {
      await prepare();
      ensureDir(dataDir);
      const port = await pickPort(saved?.port);
      const controllerPort = await pickPort(saved?.controllerPort === port ? undefined : saved?.controllerPort);
      const formatted = existsSync(join(dataDir, "meta.properties"));
      let clusterId = saved?.clusterId;
      if (!formatted || !clusterId) {
        rmSync(dataDir, { recursive: true, force: true });
        ensureDir(dataDir);
        clusterId = (await run("java", java(["kafka.tools.StorageTool", "random-uuid"]))).stdout.trim();
      }
      const state: KafkaState = { port, controllerPort, clusterId };
      writeFileSync(join(home, "server.properties"), serverProperties(state, dataDir));
      writeFileSync(join(home, "log4j2.yaml"), log4jConfig(log));
      if (!formatted) {
        await run("java", java(["kafka.tools.StorageTool", "format", "-t", clusterId, "-c", join(home, "server.properties")]));
      }
      state.process = spawnDetached({ command: "java", args: java(["kafka.Kafka", join(home, "server.properties")]), log: join(layout.logs, "kafka.stdout.log"), cwd: home });
      await waitUntilReady("kafka", state.process, () => probe(state), { timeoutMs: readyTimeoutMs, stopSignal: "SIGTERM" });
      return state;
    },
    probe,
    stop: (state) => (state.process ? stopProcess(state.process, "SIGTERM", 30_000) : Promise.resolve()),
    env: (state) => ({ KAFKA_BROKERS: `127.0.0.1:${state.port}` }),
    describe: (state) => `kafka 127.0.0.1:${state.port} (controller ${state.controllerPort}, cluster ${state.clusterId}) ${KAFKA_VERSION}`,
  };
}
