import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { describeFindings, findSecretsInLogs, type KnownSecret } from "./log-scan.js";
import { resolveCacheLayout } from "../../scripts/services/cache.js";
import { createServiceManager } from "../../scripts/services/manager.js";
import { SERVICE_NAMES, type ServiceName } from "../../scripts/services/state.js";
import type { ProvidedServices } from "./provided-services.js";

const HOW_TO = {
  postgres: "run `npm run services -- up postgres` (or set DATABASE_URL)",
  kafka: "run `npm run services -- up kafka` (or set KAFKA_BROKERS)",
  minio: "run `npm run services -- up minio` (or set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY)",
  vault: "run `npm run services -- up vault` (builds Vault from the Go module proxy; or set VAULT_ADDR and VAULT_TOKEN to a Vault whose token may mount secrets engines)",
} satisfies Record<ServiceName, string>;

function selectedServices(env: NodeJS.ProcessEnv): Set<ServiceName> {
  const raw = env.ANNAL_TEST_SERVICES?.trim();
  if (!raw || raw === "all") return new Set(SERVICE_NAMES);
  const names = raw.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(SERVICE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`ANNAL_TEST_SERVICES names unknown service(s) ${unknown.join(", ")}; expected a comma list of ${SERVICE_NAMES.join(", ")}`);
  return new Set(names as ServiceName[]);
}

function fromEnvironment(env: Record<string, string | undefined>): Partial<{ [K in ServiceName]: Record<string, string> }> {
  const given: Partial<{ [K in ServiceName]: Record<string, string> }> = {};
  if (env.DATABASE_URL) given.postgres = { DATABASE_URL: env.DATABASE_URL };
  if (env.KAFKA_BROKERS) given.kafka = { KAFKA_BROKERS: env.KAFKA_BROKERS };
  const s3 = [env.S3_ENDPOINT, env.S3_ACCESS_KEY, env.S3_SECRET_KEY];
  if (s3.every(Boolean)) given.minio = { S3_ENDPOINT: s3[0]!, S3_ACCESS_KEY: s3[1]!, S3_SECRET_KEY: s3[2]! };
  else if (s3.some(Boolean)) throw new Error("S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY must be set together (or none, to let the suite start MinIO)");
  if (env.VAULT_ADDR && env.VAULT_TOKEN) given.vault = { VAULT_ADDR: env.VAULT_ADDR, VAULT_TOKEN: env.VAULT_TOKEN };
  return given;
}

function toProvided(vars: Record<string, string> | undefined, name: ServiceName, why: string): ProvidedServices[keyof ProvidedServices] {
  const missing = { ok: false as const, reason: `${name} is not running for this test run: ${why}; ${HOW_TO[name]}` };
  if (!vars) return missing;
  switch (name) {
    case "postgres":
      return { ok: true, url: vars.DATABASE_URL! };
    case "kafka":
      return { ok: true, brokers: vars.KAFKA_BROKERS!.split(",").map((b) => b.trim()).filter(Boolean) };
    case "minio":
      return { ok: true, endpoint: vars.S3_ENDPOINT!, accessKey: vars.S3_ACCESS_KEY!, secretKey: vars.S3_SECRET_KEY! };
    case "vault":
      return { ok: true, addr: vars.VAULT_ADDR!, token: vars.VAULT_TOKEN! };
  }
}

/**
 * Brings up what the suite needs and shares the endpoints through `provide`. Order: endpoints
 * in the environment (never started), then services this checkout already runs (`npm run
 * services -- up`, left running), then the ones it starts itself (stopped at teardown).
 * A service that fails to start fails the run with the reason, in CI and locally alike.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const selected = selectedServices(process.env);
  const given = fromEnvironment(process.env);
  const manager = createServiceManager({ layout: resolveCacheLayout() });
  const toStart = SERVICE_NAMES.filter((name) => selected.has(name) && !given[name]);
  let started: ServiceName[] = [];
  if (toStart.length > 0) {
    try {
      started = await manager.up(toStart, (message) => console.log(`[services] ${message}`));
    } catch (error) {
      throw new Error(`${(error as Error).message}\n\nThe suite needs real services. Fix the cause above, or point the suite at existing ones (DATABASE_URL, KAFKA_BROKERS, S3_*), or limit a local run with ANNAL_TEST_SERVICES=postgres. \`npm run doctor\` checks the toolchain.`, { cause: error });
    }
  }
  const running = manager.env();
  const varsFor = (name: ServiceName): Record<string, string> | undefined => {
    if (given[name]) return given[name];
    const keys = { postgres: ["DATABASE_URL"], kafka: ["KAFKA_BROKERS"], minio: ["S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"], vault: ["VAULT_ADDR", "VAULT_TOKEN"] }[name];
    return keys.every((key) => running[key]) ? Object.fromEntries(keys.map((key) => [key, running[key]!])) : undefined;
  };
  const why = (name: ServiceName) => (selected.has(name) ? "it did not come up" : `ANNAL_TEST_SERVICES=${process.env.ANNAL_TEST_SERVICES} leaves it out`);
  project.provide("annalServices", {
    postgres: toProvided(varsFor("postgres"), "postgres", why("postgres")) as ProvidedServices["postgres"],
    kafka: toProvided(varsFor("kafka"), "kafka", why("kafka")) as ProvidedServices["kafka"],
    s3: toProvided(varsFor("minio"), "minio", why("minio")) as ProvidedServices["s3"],
    vault: toProvided(varsFor("vault"), "vault", why("vault")) as ProvidedServices["vault"],
  });
  // Every server's log in this run lands here (log-capture.ts); the teardown scans it all.
  const logDir = await mkdtemp(join(tmpdir(), "annal-test-logs-"));
  project.provide("annalLogDir", logDir);
  const runSecrets: KnownSecret[] = [];
  const postgresUrl = varsFor("postgres")?.DATABASE_URL;
  if (postgresUrl) runSecrets.push({ label: "the suite's PostgreSQL password", value: decodeURIComponent(new URL(postgresUrl).password) });
  const s3Secret = varsFor("minio")?.S3_SECRET_KEY;
  if (s3Secret) runSecrets.push({ label: "the suite's S3 secret key", value: s3Secret });
  const vaultToken = varsFor("vault")?.VAULT_TOKEN;
  if (vaultToken) runSecrets.push({ label: "the suite's Vault root token", value: vaultToken });
  return async () => {
    try {
      await assertNoSecretsLogged(logDir, runSecrets);
    } finally {
      if (started.length > 0) await manager.down(started);
    }
  };
}

/**
 * The log scan (issue 11): every configured secret of the run (the services' credentials,
 * each server's dev client secrets and signing key, each access token a test fetched)
 * against every line any server logged. A leak fails the run, naming file, line and which
 * secret (never its value); the logs are kept for inspection then.
 */
async function assertNoSecretsLogged(logDir: string, runSecrets: readonly KnownSecret[]): Promise<void> {
  const declared = await readdir(join(logDir, "secrets")).catch(() => [] as string[]);
  const secrets = [...runSecrets];
  for (const file of declared) {
    for (const line of (await readFile(join(logDir, "secrets", file), "utf8")).split("\n")) if (line !== "") secrets.push(JSON.parse(line) as KnownSecret);
  }
  const findings = await findSecretsInLogs(join(logDir, "logs"), secrets).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  if (findings.length > 0) throw new Error(`secrets found in the test run's logs (kept in ${logDir}/logs):\n${describeFindings(findings)}`);
  console.log(`[log scan] ${secrets.length} secrets, none in the logs of this run`);
  await rm(logDir, { recursive: true, force: true });
}
