import type pg from "pg";
import type { Logger } from "pino";
import { createLtHash, LedgerError, type LtHash, type LtHashExpand, type SignatureVerifier } from "../core/index.js";
import { applyToBuild, createEventFilter } from "../projector/apply.js";
import { createBuildSchema } from "../projector/catalog.js";
import { commitmentLabel } from "../projector/commitment.js";
import type { LoadedProjection } from "../projector/define.js";
import { inTransaction } from "../store/postgres/transaction.js";
import type { BackfillSource } from "./consumer/backfill.js";
import { createVerifyingConsumer, type ConsumerCursor, type Incident, type KafkaTrust, type SignatureCheck } from "./consumer/verifying-consumer.js";
import type { KafkaPort } from "./kafka-port.js";

export interface KafkaProjectionsDeps {
  /** The consumer's own database (migrated), where the read models are built. */
  pool: pg.Pool;
  kafka: KafkaPort;
  expand: LtHashExpand;
  backfill?: BackfillSource;
  verifySignature?: SignatureVerifier;
  verifySignatures?: (checks: readonly SignatureCheck[]) => Promise<number>;
  onIncident?: (projection: string, incident: Incident) => void;
  logger?: Logger;
}

export interface KafkaProjectionsOptions {
  topic: string;
  trust: KafkaTrust;
  projections: readonly LoadedProjection[];
  signal?: AbortSignal;
  /** Stop once the topic is read to its end (default: keep following). */
  stopWhenCaughtUp?: boolean;
  batchSize?: number;
  onProgress?: (projection: string, position: number) => void;
}

export interface KafkaProjectionResult {
  projection: string;
  schema: string;
  position: number;
  /** The same label as the projector's (lthash16-blake3:...), comparable with the ledger-fed build's. */
  commitment: string;
  commitmentBytes: Uint8Array;
}

/**
 * Runs projections fed from Kafka through the verifying consumer, in a database of the
 * consumer's own: the same SQL, handler and commitment code as the projector, with each
 * batch's rows, the commitment and the consumer cursor committed in one transaction. The
 * result carries the commitment, to compare with the build fed from the ledger.
 */
export async function runKafkaProjections(deps: KafkaProjectionsDeps, options: KafkaProjectionsOptions): Promise<KafkaProjectionResult[]> {
  return Promise.all(options.projections.map((projection) => runOne(deps, options, projection)));
}

interface Row {
  schema_name: string;
  code_hash: string;
  position: number;
  cursor: ConsumerCursor | null;
  commitment: Buffer;
}

async function runOne(deps: KafkaProjectionsDeps, options: KafkaProjectionsOptions, projection: LoadedProjection): Promise<KafkaProjectionResult> {
  const name = projection.definition.name;
  const row = await inTransaction(deps.pool, async (tx) => {
    const existing = await tx.query<Row>("SELECT schema_name, code_hash, position, cursor, commitment FROM annal.kafka_projections WHERE projection = $1 AND topic = $2 FOR UPDATE", [name, options.topic]);
    if (existing.rows[0] !== undefined) return existing.rows[0];
    const schema = `projection_${name}__kafka_${options.topic.replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
    const seeded = await createBuildSchema(tx, projection, schema, deps.expand);
    await tx.query("INSERT INTO annal.kafka_projections (projection, topic, schema_name, code_hash, commitment) VALUES ($1, $2, $3, $4, $5)", [name, options.topic, schema, projection.codeHash, Buffer.from(seeded)]);
    return { schema_name: schema, code_hash: projection.codeHash, position: 0, cursor: null, commitment: Buffer.from(seeded) } satisfies Row;
  });
  if (row.code_hash !== projection.codeHash) {
    throw new LedgerError("ERR_PROJECTION_CHANGED", `projection ${name} was built from Kafka with other code (${row.code_hash.slice(0, 12)}…); drop schema ${row.schema_name} and its annal.kafka_projections row to rebuild`, { details: { projection: name } });
  }
  let commitment: LtHash = createLtHash(deps.expand, new Uint8Array(row.commitment));
  let position = row.position;
  const target = { schema: row.schema_name, projection, filter: createEventFilter(projection) };
  const consumer = createVerifyingConsumer(
    {
      kafka: deps.kafka,
      ...(deps.backfill ? { backfill: deps.backfill } : {}),
      ...(deps.verifySignature ? { verifySignature: deps.verifySignature } : {}),
      ...(deps.verifySignatures ? { verifySignatures: deps.verifySignatures } : {}),
      onIncident: (incident) => deps.onIncident?.(name, incident),
    },
    { topic: options.topic, trust: options.trust, maxBatch: options.batchSize ?? 1000, ...(row.cursor ? { cursor: row.cursor } : {}) },
  );
  await consumer.run({
    ...(options.signal ? { signal: options.signal } : {}),
    stopWhenCaughtUp: options.stopWhenCaughtUp ?? false,
    async apply(batch) {
      const next = createLtHash(deps.expand, commitment.bytes());
      await inTransaction(deps.pool, async (tx) => {
        if (batch.events.length > 0) await applyToBuild(tx, target, batch.events, next);
        await tx.query("UPDATE annal.kafka_projections SET position = $3, cursor = $4, commitment = $5, updated_at = now() WHERE projection = $1 AND topic = $2", [name, options.topic, batch.cursor.position, JSON.stringify(batch.cursor), Buffer.from(next.bytes())]);
      });
      commitment = next;
      position = batch.cursor.position;
      options.onProgress?.(name, position);
    },
  });
  deps.logger?.info({ projection: name, position, commitment: commitmentLabel(commitment.bytes()) }, "kafka projection caught up");
  return { projection: name, schema: row.schema_name, position, commitment: commitmentLabel(commitment.bytes()), commitmentBytes: commitment.bytes() };
}
