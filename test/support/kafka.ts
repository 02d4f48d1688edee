import { resolveTrustedKey, type TrustedKey } from "../../src/verify/index.js";
import { createVerifyingConsumer, type BackfillSource, type ConsumerCursor, type ConsumerSummary, type Incident, type KafkaTrust, type SignatureCheck } from "../../src/relay/consumer/index.js";
import type { KafkaPort } from "../../src/relay/index.js";
import type { EventRecord } from "../../src/core/index.js";
import type { TestAnnal } from "./annal.js";

/** The consumer's trust, as an operator would configure it: the ledger's public key and origin. */
export function trustOf(annal: TestAnnal): KafkaTrust {
  const key = resolveTrustedKey({ publicKey: annal.signer.publicKey }) as TrustedKey;
  return { keys: [key], origin: annal.config.origin };
}

/** A backfill source reading the test ledger directly (what GET /events serves). */
export function ledgerBackfill(annal: TestAnnal): BackfillSource {
  return { range: (from, to) => annal.reader.readRange(from, to) };
}

export interface Consumed {
  events: EventRecord[];
  incidents: Incident[];
  summary: ConsumerSummary;
  cursor: ConsumerCursor | undefined;
  error: unknown;
}

/** Reads `topic` to its end with the verifying consumer; never throws (the error is returned). */
export async function consumeAll(
  kafka: KafkaPort,
  topic: string,
  trust: KafkaTrust,
  options: { backfill?: BackfillSource; cursor?: ConsumerCursor; gapGraceMs?: number; verifySignatures?: (checks: readonly SignatureCheck[]) => Promise<number> } = {},
): Promise<Consumed> {
  const events: EventRecord[] = [];
  const incidents: Incident[] = [];
  let cursor: ConsumerCursor | undefined = options.cursor;
  const consumer = createVerifyingConsumer(
    { kafka, ...(options.backfill ? { backfill: options.backfill } : {}), ...(options.verifySignatures ? { verifySignatures: options.verifySignatures } : {}), onIncident: (i) => incidents.push(i) },
    { topic, trust, gapGraceMs: options.gapGraceMs ?? 0, ...(options.cursor ? { cursor: options.cursor } : {}) },
  );
  let error: unknown;
  try {
    await consumer.run({
      stopWhenCaughtUp: true,
      apply(batch) {
        events.push(...batch.events);
        cursor = batch.cursor;
        return Promise.resolve();
      },
    });
  } catch (e) {
    error = e;
  }
  return { events, incidents, summary: consumer.summary, cursor, error };
}
