// Kafka relay and consumer figures (BENCH_ONLY=kafka): relay catch-up over a filled log,
// append→Kafka latency under workload (a), and the verifying consumer's rate. Needs a
// broker: KAFKA_BROKERS (eval "$(npm run -s services -- env)").
import { pino } from "pino";
import { openAnnal } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { availableParallelism } from "node:os";
import { createNodeVerifier } from "../../src/cli/node-verifier.js";
import { createVerifyPool } from "../../src/cli/verify-pool.js";
import { createVerifyingConsumer, type SignatureCheck } from "../../src/relay/consumer/index.js";
import { createKafkajsPort, createRelayService } from "../../src/relay/index.js";
import { resolveTrustedKey, type TrustedKey } from "../../src/verify/index.js";
import { fillLog, payload } from "./fill-log.js";
import { percentile, runClosedLoop, type LoadResult } from "./stats.js";


export async function benchKafka(databaseUrl: string, home: string, report: (r: LoadResult) => void, scale: number): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
  if (brokers.length === 0) {
    console.log("kafka: not run: set KAFKA_BROKERS (eval \"$(npm run -s services -- env)\" after `npm run services -- up kafka`)");
    return;
  }
  const target = Number(process.env.BENCH_KAFKA_EVENTS ?? Math.round(1_000_000 * scale));
  const annal = await openAnnal(loadConfig({ DATABASE_URL: databaseUrl, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off" }), pino({ level: "silent" }));
  const kafka = createKafkajsPort({ brokers, clientId: "annal-bench" });
  const topic = `bench-relay-${Date.now().toString(36)}`;
  const connect = annal.connect;
  try {
    // 1. Fill the log (100-event appends), then time the relay from an empty topic to the head.
    await fillLog(annal, { events: target, streamId: (w, i) => `k-${w}-${i % 500}`, label: "the relay" });
    const relay = createRelayService({ pool: annal.pool, connect }, { brokers, topic, origin: annal.signer.noteName, partitions: 12, batchSize: 5000, pollIntervalMs: 20 });
    const started = performance.now();
    relay.start();
    for (;;) {
      const s = await relay.status();
      if (s !== undefined && s.position >= target) break;
      if (relay.follower?.state === "failed") throw relay.follower.error ?? new Error("the relay failed");
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    report({ name: `relay catch-up: ${target} events to an empty 12-partition topic`, events: target, seconds, eventsPerSecond: target / seconds, p50Ms: NaN, p99Ms: NaN });

    // 2. Workload (a) with the relay running: append→Kafka latency of each event.
    const latencies: number[] = [];
    await relay.stop();
    const live = createRelayService({ pool: annal.pool, connect, onPublished: (ms) => latencies.push(...ms) }, { brokers, topic, origin: annal.signer.noteName, partitions: 12, pollIntervalMs: 20 });
    live.start();
    const appends = await runClosedLoop("(a) with the relay running: 64 concurrent single-event appends", { concurrency: 64, totalOps: 30_000 * scale, eventsPerOp: 1 }, (w, i) =>
      annal.ledger.append({ streamId: `a-${w}`, events: [{ type: "OrderPlaced", data: payload(i) }] }),
    );
    report(appends);
    const head = target + 30_000 * scale;
    while (((await live.status())?.position ?? 0) < head) await new Promise((r) => setTimeout(r, 50));
    await live.stop();
    latencies.sort((a, b) => a - b);
    report({ name: "append→Kafka (recordedAt to broker ack) during (a)", events: latencies.length, seconds: appends.seconds, eventsPerSecond: latencies.length / appends.seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });

    // 3. The verifying consumer over the whole topic (signatures with OpenSSL).
    const key = resolveTrustedKey({ publicKey: annal.signer.publicKey }) as TrustedKey;
    for (const [label, workers] of [["one thread", 0], [`${availableParallelism()} signature workers`, availableParallelism()]] as const) {
      const pool = workers > 0 ? createVerifyPool(workers) : undefined;
      const consumer = createVerifyingConsumer(
        { kafka, verifySignature: createNodeVerifier(), ...(pool ? { verifySignatures: (checks: readonly SignatureCheck[]) => pool.firstFailure(checks) } : {}) },
        { topic, trust: { keys: [key], origin: annal.signer.noteName }, maxBatch: 5000, gapGraceMs: 0 },
      );
      const consumeStart = performance.now();
      const summary = await consumer.run({ apply: () => Promise.resolve(), stopWhenCaughtUp: true });
      const consumeSeconds = (performance.now() - consumeStart) / 1000;
      await pool?.close();
      report({ name: `verifying consumer (${label}): ${summary.events} events, ${summary.checkpoints} checkpoint roots`, events: summary.events, seconds: consumeSeconds, eventsPerSecond: summary.events / consumeSeconds, p50Ms: NaN, p99Ms: NaN });
    }
  } finally {
    await kafka.deleteTopic(topic).catch(() => undefined);
    await kafka.close();
    await annal.close();
  }
}
