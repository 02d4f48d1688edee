import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBase64 } from "../../src/core/index.js";
import { createLocalWakeup } from "../../src/follower/index.js";
import { createRowExpander, commitmentLabel } from "../../src/projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../../src/projector/loader.js";
import { startProjectionService, type ProjectionService } from "../../src/projector/service.js";
import { runKafkaProjections } from "../../src/relay/kafka-projections.js";
import { createKafkajsPort, createRelayService, type KafkaPort } from "../../src/relay/index.js";
import { migrate } from "../../src/store/postgres/migrate.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually, leaseConnector } from "../support/followers.js";
import { trustOf } from "../support/kafka.js";
import { runCli } from "../support/processes.js";
import { createTestDatabase, kafkaBrokers, randomName } from "../support/services.js";
import { captureLogger } from "../support/log-capture.js";

const logger = captureLogger("kafka-projections");
let annal: TestAnnal;
let kafka: KafkaPort;
let projections: ProjectionService | undefined;
const topic = randomName("kafka-projections");
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  kafka = createKafkajsPort({ brokers: kafkaBrokers() });
});
afterAll(async () => {
  await projections?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await kafka?.deleteTopic(topic).catch(() => undefined);
  await kafka?.close();
  await annal?.close();
});

async function head(): Promise<number> {
  return (await annal.pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1")).rows[0]!.position;
}

describe("projections replayed from Kafka", () => {
  it("carry the same commitment as the same projections fed from the ledger (library and CLI)", async () => {
    projections = await startProjectionService(
      { pool: annal.pool, connect: leaseConnector(annal), wakeup: createLocalWakeup(), ledger: annal.ledger, logger },
      { projections: "all", projectionsDir: undefined, projectionBatchSize: 50, readWaitMs: 1000, commitMode: "sync" },
    );
    for (let i = 0; i < 240; i++) {
      const stream = `order-${i % 80}`;
      if (i >= 160 && i % 3 === 0) await annal.ledger.append({ streamId: stream, events: [{ type: "OrderCancelled", data: { reason: "test" } }] });
      else await annal.ledger.append({ streamId: stream, events: [{ type: "OrderPlaced", data: { total: 10 + i, currency: i % 2 === 0 ? "EUR" : "USD", customerId: `c-${i % 7}` } }] });
    }
    const end = await head();
    const ledgerFed = await eventually(
      async () => (await annal.pool.query<{ projection: string; position: number; commitment: Buffer }>("SELECT projection, position, commitment FROM annal.projection_builds WHERE state = 'active' ORDER BY projection")).rows,
      (rows) => rows.length > 0 && rows.every((r) => r.position === end),
      60_000,
    );
    expect(ledgerFed.map((r) => r.position)).toEqual(ledgerFed.map(() => end));

    const relay = createRelayService({ pool: annal.pool, connect: leaseConnector(annal), logger }, { brokers: kafkaBrokers(), topic, origin: annal.config.origin, partitions: 4, controlIntervalMs: 100, pollIntervalMs: 50 });
    relay.start();
    await eventually(() => relay.status(), (s) => s?.position === end, 60_000);
    await relay.stop();

    // Library: a second database, fed only from Kafka.
    const target = await createTestDatabase();
    cleanups.push(() => target.drop());
    const pool = new pg.Pool({ connectionString: target.url, max: 4 });
    cleanups.push(() => pool.end());
    await migrate(pool);
    const loaded = await loadProjections(BUILT_IN_PROJECTIONS_DIR);
    const results = await runKafkaProjections({ pool, kafka, expand: await createRowExpander() }, { topic, trust: trustOf(annal), projections: loaded, stopWhenCaughtUp: true });
    expect(results.map((r) => r.projection)).toEqual(ledgerFed.map((r) => r.projection));
    for (const result of results) {
      const fed = ledgerFed.find((r) => r.projection === result.projection)!;
      expect(result.position).toBe(end);
      expect(result.commitment, result.projection).toBe(commitmentLabel(new Uint8Array(fed.commitment)));
    }
    // A projection that saw real data: not two empty read models agreeing.
    const totals = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${results.find((r) => r.projection === "order_totals")!.schema}".orders`);
    expect(totals.rows[0]!.n).toBe(80);

    // The CLI: annal kafka verify, and annal projections run --from kafka into a third database.
    const key = toBase64(annal.signer.publicKey);
    const verified = await runCli(["kafka", "verify", "--brokers", kafkaBrokers().join(","), "--topic", topic, "--public-key", key, "--origin", annal.config.origin, "--no-progress"], { ANNAL_LOG_LEVEL: "silent" });
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`OK: ${end} events verified to position ${end}`));
    const third = await createTestDatabase();
    cleanups.push(() => third.drop());
    const replayed = await runCli(
      ["projections", "run", "--from", "kafka", "--database-url", third.url, "--brokers", kafkaBrokers().join(","), "--topic", topic, "--public-key", key, "--origin", annal.config.origin, "--until-caught-up"],
      { ANNAL_LOG_LEVEL: "silent" },
    );
    expect(replayed.code, replayed.stderr).toBe(0);
    for (const fed of ledgerFed) expect(replayed.stdout).toContain(`${fed.projection}: position ${end}, commitment ${commitmentLabel(new Uint8Array(fed.commitment))}`);
  }, 180_000);
});
