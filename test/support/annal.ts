import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogger, registerHomeSecrets, registerSecret } from "./log-capture.js";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import { loadConfig, type AnnalConfig } from "../../src/config.js";
import type { DevClient } from "../../src/auth/index.js";
import { freePort } from "../../src/store/postgres/embedded.js";
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
export async function startTestAnnal(env: Record<string, string> = {}, options: import("../../src/annal.js").OpenOptions = {}): Promise<TestAnnal> {
  const db = await createTestDatabase();
  const home = await mkdtemp(join(tmpdir(), "annal-test-"));
  const config = loadConfig({ DATABASE_URL: db.url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ...env });
  const core = await openAnnal(config, captureLogger("annal-core"), options);
  registerHomeSecrets(home);
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
  /** The running projections (with `projections: true`). */
  projections: import("../../src/projector/service.js").ProjectionService | undefined;
  url: string;
  /** Seeded clients of the embedded issuer (auth `oidc` only). */
  devClients: readonly DevClient[];
  /**
   * A real access token for a seeded client, fetched over HTTP from the embedded issuer
   * with the client_credentials grant (auth `oidc` only).
   */
  token(role: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestHttpOptions {
  /**
   * Explicit on purpose: tests that are not about auth say `auth: "off"`; auth tests say
   * `auth: "oidc"` and get the embedded development issuer at `${url}/oidc`.
   */
  auth: "off" | "oidc";
  env?: Record<string, string>;
  /** Run the projections of projections/ (ANNAL_PROJECTIONS picks which); off unless asked. */
  projections?: boolean;
}

/** startTestAnnal behind the real HTTP app, listening on a free loopback port. */
export async function startTestHttpAnnal(options: TestHttpOptions): Promise<TestHttpAnnal> {
  const { createApp, startServer } = await import("../../src/api/index.js");
  const { Registry } = await import("prom-client");
  const { openAccess } = await import("../../src/cli/access.js");
  const { maskedConfig } = await import("../../src/config.js");
  // The issuer URL is inside every token, so the port is chosen before listening.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const annal = await startTestAnnal({ ANNAL_AUTH: options.auth, ...options.env });
  try {
    const { access, devProvider } = await openAccess(annal.config, { publicUrl: url });
    let projections: import("../../src/projector/service.js").ProjectionService | undefined;
    let wakeup: import("../../src/follower/index.js").LogWakeup | undefined;
    if (options.projections === true) {
      const { createListeningWakeup } = await import("../../src/follower/index.js");
      const { startProjectionService } = await import("../../src/projector/service.js");
      wakeup = createListeningWakeup(annal.connect);
      projections = await startProjectionService(
        { pool: annal.pool, connect: annal.connect, wakeup, ledger: notifyingLedger(annal, wakeup), logger: captureLogger("projections") },
        annal.config,
      );
    }
    const app = createApp({
      ledger: wakeup === undefined ? annal.ledger : notifyingLedger(annal, wakeup),
      reader: annal.reader,
      proofs: annal.proofs,
      redactor: annal.redactor,
      keys: { rotate: () => annal.ledger.rotateKey() },
      ready: annal.ready,
      projections: projections?.api,
      // Captured for the log scan; ANNAL_TEST_LOG=debug also shows it when a test needs explaining.
      logger: captureLogger("http"),
      metrics: new Registry(),
      access,
      identityProvider: devProvider,
      effectiveConfig: () => maskedConfig(annal.config),
    });
    const server = await startServer(app, { host: "127.0.0.1", port });
    const devClients = devProvider?.clients ?? [];
    registerHomeSecrets(annal.config.home);
    return {
      annal,
      projections,
      url: server.url,
      devClients,
      token: (role) => clientCredentialsToken(server.url, devClients, role),
      async close() {
        await server.close();
        await projections?.stop();
        await wakeup?.close();
        await annal.close();
      },
    };
  } catch (error) {
    await annal.close();
    throw error;
  }
}

/** What any OAuth client does: discovery, then client_credentials at the token endpoint. */
export async function clientCredentialsToken(baseUrl: string, clients: readonly DevClient[], role: string): Promise<string> {
  const client = clients.find((c) => c.role === role);
  if (client === undefined) throw new Error(`no dev client for role ${role} (is auth "oidc"?)`);
  const discovery = (await (await fetch(`${baseUrl}/oidc/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  const response = await fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (response.status !== 200 || body.access_token === undefined) throw new Error(`token request for ${role} failed: ${response.status} ${JSON.stringify(body)}`);
  registerSecret(`access token of ${client.clientId}`, body.access_token);
  return body.access_token;
}

/** The ledger, waking this process's followers after each append (what serve's onBatch hook does). */
function notifyingLedger(annal: TestAnnal, wakeup: import("../../src/follower/index.js").LogWakeup): TestAnnal["ledger"] {
  return Object.assign(Object.create(annal.ledger) as TestAnnal["ledger"], {
    async append(request: Parameters<TestAnnal["ledger"]["append"]>[0]) {
      const receipt = await annal.ledger.append(request);
      wakeup.wake();
      return receipt;
    },
  });
}
