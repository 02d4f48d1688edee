import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import { loadConfig, type AnnalConfig } from "../../src/config.js";
import { createTestDatabase } from "./services.js";

export interface TestAnnal extends AnnalCore {
  config: AnnalConfig;
  /** Superuser URL of this test's own database (for tampering and direct checks). */
  adminUrl: string;
}

/**
 * A real ledger on its own fresh database of the suite's PostgreSQL, with its own
 * dev signing key. `close()` stops it and drops the database.
 */
export async function startTestAnnal(env: Record<string, string> = {}): Promise<TestAnnal> {
  const db = await createTestDatabase();
  const home = await mkdtemp(join(tmpdir(), "annal-test-"));
  const config = loadConfig({ DATABASE_URL: db.url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ...env });
  const core = await openAnnal(config, pino({ level: "silent" }));
  return {
    ...core,
    config,
    adminUrl: db.url,
    async close() {
      await core.close();
      await db.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface TestHttpAnnal {
  annal: TestAnnal;
  url: string;
  close(): Promise<void>;
}

/** startTestAnnal behind the real HTTP app, listening on a free loopback port. */
export async function startTestHttpAnnal(env: Record<string, string> = {}): Promise<TestHttpAnnal> {
  const { createApp, startServer } = await import("../../src/api/index.js");
  const { Registry } = await import("prom-client");
  const annal = await startTestAnnal(env);
  const app = createApp({ ledger: annal.ledger, reader: annal.reader, proofs: annal.proofs, ready: annal.ready, logger: pino({ level: "silent" }), metrics: new Registry() });
  const server = await startServer(app, { host: "127.0.0.1", port: 0 });
  return {
    annal,
    url: server.url,
    async close() {
      await server.close();
      await annal.close();
    },
  };
}
