import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { Logger } from "pino";
import { openAnnal } from "../annal.js";
import { createApp, startServer } from "../api/index.js";
import type { AnnalConfig } from "../config.js";

export interface RunningAnnal {
  url: string;
  close(): Promise<void>;
}

/**
 * The composition root: the only place that wires the store, the ledger, the signer,
 * metrics and the HTTP edge together.
 */
export async function serve(config: AnnalConfig, logger: Logger): Promise<RunningAnnal> {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const batchEvents = new Histogram({ name: "annal_commit_batch_events", help: "Events per group-commit transaction", buckets: [1, 4, 16, 64, 256, 1024, 4096], registers: [metrics] });
  const batchSeconds = new Histogram({ name: "annal_commit_batch_seconds", help: "Duration of a group-commit transaction", buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [metrics] });
  const appended = new Counter({ name: "annal_events_appended_total", help: "Events committed to the log", registers: [metrics] });

  const core = await openAnnal(config, logger, {
    onBatch: ({ events, durationMs }) => {
      batchEvents.observe(events);
      batchSeconds.observe(durationMs / 1000);
      appended.inc(events);
    },
  });
  try {
    const app = createApp({ ledger: core.ledger, reader: core.reader, proofs: core.proofs, ready: core.ready, logger, metrics }, { maxBodyBytes: config.maxBodyBytes });
    const server = await startServer(app, { host: config.host, port: config.port });
    logger.info({ url: server.url, keyId: core.signer.keyId, origin: config.origin, database: core.embedded ? "embedded" : "external" }, "annal is listening");
    return {
      url: server.url,
      async close() {
        await server.close();
        await core.close();
      },
    };
  } catch (error) {
    await core.close();
    throw error;
  }
}

/** The quick-start hint printed by `npm start`. */
export function exampleUsage(url: string): string {
  return [
    "",
    `Annal is running at ${url}  (API reference: ${url}/docs)`,
    "Append an event:",
    `  curl -s -X POST ${url}/streams/orders-1/events -H 'content-type: application/json' \\`,
    `    -d '{"events":[{"type":"OrderPlaced","data":{"total":42}}]}'`,
    "Read it back and verify the whole log:",
    `  curl -s ${url}/streams/orders-1/events`,
    `  npx annal verify --url ${url}`,
    "",
  ].join("\n");
}
