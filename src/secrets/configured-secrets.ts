import type { SASLOptions } from "kafkajs";
import type { Logger } from "pino";
import { LedgerError } from "../core/index.js";
import { SECRET_SETTINGS, secretValueProblems, type AnnalConfig } from "../config.js";
import { openSecretProvider } from "./open-secret.js";
import { watchSecret, type WatchedSecret } from "./watched-secret.js";

type SecretKey = keyof typeof SECRET_SETTINGS;

/** The credentials this configuration names, each watched for rotation. */
export interface ConfiguredSecrets {
  readonly databasePassword: WatchedSecret | undefined;
  readonly s3AccessKey: WatchedSecret | undefined;
  readonly s3SecretKey: WatchedSecret | undefined;
  readonly kafkaSaslPassword: WatchedSecret | undefined;
  /** Every watched secret (masking by value: GET /admin/config, the log). */
  readonly all: readonly WatchedSecret[];
  /** Re-reads every source now (SIGHUP); resolves the names of those that changed. */
  refresh(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Opens and reads every configured secret (a source that cannot be read fails the start,
 * naming the setting), checks the values in production (weak ones are refused, each
 * named), and watches them: a rotation is logged by name and source, never by value.
 */
export async function openConfiguredSecrets(config: AnnalConfig, logger: Logger, env: Readonly<Record<string, string | undefined>> = process.env): Promise<ConfiguredSecrets> {
  const opened: Partial<Record<SecretKey, WatchedSecret>> = {};
  const log = logger.child({ component: "secrets" });
  try {
    for (const key of Object.keys(SECRET_SETTINGS) as SecretKey[]) {
      const uri = config.secrets[key];
      if (uri === undefined) continue;
      const name = SECRET_SETTINGS[key];
      const provider = openSecretProvider(name, uri, { env, fileCheckIntervalMs: Math.min(1000, config.secrets.refreshMs) });
      const watched = await watchSecret(provider, { intervalMs: config.secrets.refreshMs, onError: (error) => log.warn({ err: error, secret: name, source: provider.source }, "could not re-read a secret; keeping the last value") });
      watched.onChange(() => log.info({ secret: name, source: provider.source }, "secret rotated: new connections use the new value"));
      opened[key] = watched;
    }
    if (config.env === "production") {
      const problems = Object.values(opened).flatMap((w) => secretValueProblems(`${w.name} (${w.source})`, w.current().reveal()));
      if (problems.length > 0) throw new LedgerError("ERR_CONFIG", `refusing to start in production:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
    }
  } catch (error) {
    await Promise.all(Object.values(opened).map((w) => w.close()));
    throw error;
  }
  const all = Object.values(opened);
  return {
    databasePassword: opened.databasePassword,
    s3AccessKey: opened.s3AccessKey,
    s3SecretKey: opened.s3SecretKey,
    kafkaSaslPassword: opened.kafkaSaslPassword,
    all,
    async refresh() {
      const changed = await Promise.all(all.map(async (w) => ((await w.check({ fresh: true })) ? [w.name] : [])));
      return changed.flat();
    },
    async close() {
      await Promise.all(all.map((w) => w.close()));
    },
  };
}

/**
 * The relay's Kafka SASL options: kafkajs reads `password` when each broker connection
 * authenticates, so a getter gives new connections the current (rotated) value.
 */
export function kafkaSasl(config: AnnalConfig, secrets: ConfiguredSecrets): { sasl?: SASLOptions } {
  const password = secrets.kafkaSaslPassword;
  if (config.kafkaSasl === undefined || password === undefined) return {};
  const { mechanism, username } = config.kafkaSasl;
  return {
    sasl: {
      mechanism,
      username,
      get password() {
        return password.current().reveal();
      },
    },
  };
}
