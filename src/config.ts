import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isValidKeyName, LedgerError } from "./core/index.js";
import { maskKeyUri, parseKeyUri } from "./keys/key-uri.js";
import { parseWitnessesConfig, type WitnessEndpoint } from "./witness/config.js";
import { isSecretUri, SECRET_SCHEMES } from "./secrets/open-secret.js";

export interface AnnalConfig {
  env: "development" | "production";
  home: string;
  host: string;
  port: number;
  /** External Postgres; undefined starts the embedded one under `home`. */
  databaseUrl: string | undefined;
  /** Role the service runs as (startup parameter); undefined keeps the login role. */
  databaseRole: string | undefined;
  origin: string;
  /**
   * The ledger key as a URI (ANNAL_SIGNING_KEY: file:, env:, pkcs11:, vault-transit:,
   * awskms:; ANNAL_SIGNING_KEY_FILE=<path> is file:<path>). Undefined: the generated
   * development key under `home`.
   */
  signingKey: string | undefined;
  /**
   * ANNAL_NEXT_SIGNING_KEY: the key to rotate to (a key URI, as ANNAL_SIGNING_KEY). An instance
   * that holds it signs with it once a rotation has put it in force (docs/operations.md "Key rotation").
   */
  nextSigningKey: string | undefined;
  /** ANNAL_KEY_OVERLAP_SECONDS (default 86400): checkpoints carry the previous key's signature this long after a rotation. */
  keyOverlapSeconds: number;
  logLevel: string;
  maxBatchEvents: number;
  maxQueuedEvents: number;
  maxBodyBytes: number;
  /** How append batches reach the disk (ANNAL_COMMIT_MODE): see LedgerOptions.commitMode. */
  commitMode: "sync" | "flush";
  /** Append batch statements in flight at once (ANNAL_MAX_BATCHES_IN_FLIGHT). */
  maxBatchesInFlight: number;
  /**
   * Worker threads that help sign large append batches (ANNAL_SIGN_WORKERS, default 1): a
   * batch of 128 events or more is shared between them and the main thread; smaller ones
   * are signed on the main thread, where a worker's message round trip would cost more CPU
   * than it moves (docs/benchmarks.md, issue 12). PKCS#11 keys always use at least one.
   */
  signWorkers: number;
  /** Witnesses asked to cosign checkpoints (ANNAL_WITNESSES). */
  witnesses: WitnessEndpoint[];
  /** `oidc`: Bearer JWT access tokens and RBAC on every non-public route; `off`: anyone may do anything. */
  auth: "oidc" | "off";
  /** External issuer; undefined (with auth `oidc`) runs the embedded development provider at /oidc. */
  oidcIssuer: string | undefined;
  /** Expected `aud` of access tokens: the resource indicator of the Annal API. */
  oidcAudience: string;
  /** Claim holding role names (dotted path, e.g. `realm_access.roles`); `scope` is always read too. */
  oidcRolesClaim: string;
  oidcAlgorithms: string[];
  oidcClockToleranceSeconds: number;
  /** How long a verified access token is accepted again without verifying it (ANNAL_OIDC_TOKEN_CACHE_SECONDS; never past its exp). */
  oidcTokenCacheSeconds: number;
  /** JSON RBAC policy; undefined uses the built-in writer/reader/auditor/admin policy. */
  rbacPolicyFile: string | undefined;
  /** URL clients use to reach this server; the embedded issuer lives under it. Default http://host:port. */
  publicUrl: string | undefined;
  /** ANNAL_DB_ALLOW_INSECURE=1: production may talk to PostgreSQL without TLS (e.g. a Unix socket or a sidecar). */
  databaseAllowInsecure: boolean;
  /** ANNAL_TRACE_APPENDS=1: stage histograms of every append in /metrics (annal_append_stage_seconds). */
  traceAppends: boolean;
  /** ANNAL_ACCESS_LOG=1: one info line per HTTP request (off by default). */
  accessLog: boolean;
  /**
   * ANNAL_REQUEST_TIMEOUT_MS (default 5000): every request is answered within it, 503
   * when a dependency does not answer. Appends are bounded just below it (by 500 ms) so
   * that they answer with what is known of their outcome.
   */
  requestTimeoutMs: number;
  /** ANNAL_DB_CONNECT_TIMEOUT_MS (default 1500): opening a connection or waiting for a free one. */
  databaseConnectTimeoutMs: number;
  /** ANNAL_DB_STATEMENT_TIMEOUT_MS (default 3000): one statement's answer, timed by the client. */
  databaseStatementTimeoutMs: number;
  /** Projections run by this instance (ANNAL_PROJECTIONS): names, `all` (default) or `none`. */
  projections: readonly string[] | "all" | "none";
  /** Folder of projection folders (ANNAL_PROJECTIONS_DIR); undefined: the ones shipped in projections/. */
  projectionsDir: string | undefined;
  /** Events per projection transaction (ANNAL_PROJECTION_BATCH). */
  projectionBatchSize: number;
  /** Longest a read-your-writes read waits for a projection to reach its position (ANNAL_READ_WAIT_MS). */
  readWaitMs: number;
  /**
   * ANNAL_ARCHIVE: where sealed segments go, `s3://bucket/prefix` (credentials from the
   * standard AWS_* variables, never kept here) or `file:///path` (NOT WORM, development
   * only); `off` for none. Development defaults to `file://$ANNAL_HOME/archive`;
   * production has no default (off unless set).
   */
  archive: string | undefined;
  /** ANNAL_ARCHIVE_RETENTION_DAYS: the least COMPLIANCE retention applied to a segment and required of the bucket's default. */
  archiveRetentionDays: number;
  /** ANNAL_ARCHIVE_SEGMENT_EVENTS: seal once this many events wait (and cut segments of about this size). */
  archiveSegmentEvents: number;
  /** ANNAL_ARCHIVE_SEGMENT_AGE_SECONDS: seal once the oldest unsealed event is this old. */
  archiveSegmentAgeSeconds: number;
  /** Kafka bootstrap brokers (ANNAL_KAFKA_BROKERS, comma list); empty: the relay is off in `annal serve`. */
  kafkaBrokers: string[];
  /** The relay's topic (ANNAL_KAFKA_TOPIC, default annal.events). */
  kafkaTopic: string;
  /** Partitions of the topic when the relay creates it (ANNAL_KAFKA_PARTITIONS). */
  kafkaPartitions: number;
  /** Least time between control records (ANNAL_KAFKA_CONTROL_INTERVAL_MS). */
  kafkaControlIntervalMs: number;
  /** Credentials (issue 11): where each comes from, as a secret URI (src/secrets); never a value. */
  secrets: SecretSources;
  /** Kafka SASL (ANNAL_KAFKA_SASL_MECHANISM, ANNAL_KAFKA_SASL_USERNAME); the password is secrets.kafkaSaslPassword. */
  kafkaSasl: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string } | undefined;
}

/**
 * Where each credential comes from: a secret URI (`env:NAME`, `file:/path`,
 * `vault-kv:mount/path?field=key`), re-read on rotation (docs/operations.md, "Secrets and
 * credentials"). Undefined: the credential is not configured this way.
 */
export interface SecretSources {
  /** ANNAL_DB_PASSWORD: the database login's password; DATABASE_URL then carries none. */
  databasePassword: string | undefined;
  /** ANNAL_S3_ACCESS_KEY and ANNAL_S3_SECRET_KEY: the archive's S3 keys (else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, static). */
  s3AccessKey: string | undefined;
  s3SecretKey: string | undefined;
  /** ANNAL_KAFKA_SASL_PASSWORD: the relay's Kafka SASL password. */
  kafkaSaslPassword: string | undefined;
  /** ANNAL_SECRET_REFRESH_MS (default 1000): how often providers are asked for a rotated value. */
  refreshMs: number;
}

/** The embedded development identity provider runs when auth is on and no issuer is configured. */
export function usesDevIdentityProvider(config: AnnalConfig): boolean {
  return config.auth === "oidc" && config.oidcIssuer === undefined;
}

export const DEFAULT_OIDC_AUDIENCE = "urn:annal:api";
const ALLOWED_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LedgerError("ERR_CONFIG", `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Typed configuration from the environment. Every setting has an embedded default, so
 * `npm start` needs none; see docs/operations.md for the list.
 */
export function loadConfig(env: Env = process.env): AnnalConfig {
  const envName = env.ANNAL_ENV ?? "development";
  if (envName !== "development" && envName !== "production") {
    throw new LedgerError("ERR_CONFIG", `ANNAL_ENV must be "development" or "production", got ${JSON.stringify(envName)}`);
  }
  const origin = env.ANNAL_ORIGIN ?? "localhost/annal-dev";
  if (!isValidKeyName(origin)) throw new LedgerError("ERR_CONFIG", "ANNAL_ORIGIN must be a non-empty name without spaces or '+', e.g. ledger.example.com/prod");
  const role = env.ANNAL_DB_ROLE === undefined ? "annal_app" : env.ANNAL_DB_ROLE === "" || env.ANNAL_DB_ROLE === "none" ? undefined : env.ANNAL_DB_ROLE;
  if (role !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new LedgerError("ERR_CONFIG", "ANNAL_DB_ROLE must be a lowercase SQL identifier or 'none'");
  return {
    env: envName,
    home: resolve(env.ANNAL_HOME ?? ".annal"),
    host: env.ANNAL_HOST ?? "127.0.0.1",
    port: integer(env, env.ANNAL_PORT !== undefined ? "ANNAL_PORT" : "PORT", 8080, 0, 65535),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseRole: role,
    origin,
    signingKey: signingKeyUri(env),
    nextSigningKey: env.ANNAL_NEXT_SIGNING_KEY || undefined,
    keyOverlapSeconds: integer(env, "ANNAL_KEY_OVERLAP_SECONDS", 86_400, 0, 365 * 86_400),
    logLevel: env.ANNAL_LOG_LEVEL ?? "info",
    maxBatchEvents: integer(env, "ANNAL_MAX_BATCH_EVENTS", 5000, 1, 100_000),
    maxQueuedEvents: integer(env, "ANNAL_MAX_QUEUED_EVENTS", 100_000, 1, 10_000_000),
    maxBodyBytes: integer(env, "ANNAL_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    signWorkers: integer(env, "ANNAL_SIGN_WORKERS", 1, 0, 16),
    maxBatchesInFlight: integer(env, "ANNAL_MAX_BATCHES_IN_FLIGHT", 2, 1, 16),
    commitMode: commitMode(env.ANNAL_COMMIT_MODE),
    witnesses: parseWitnessesConfig(env.ANNAL_WITNESSES),
    auth: authMode(env.ANNAL_AUTH),
    oidcIssuer: optionalUrl(env, "ANNAL_OIDC_ISSUER"),
    oidcAudience: env.ANNAL_OIDC_AUDIENCE || DEFAULT_OIDC_AUDIENCE,
    oidcRolesClaim: env.ANNAL_OIDC_ROLES_CLAIM || "roles",
    oidcAlgorithms: tokenAlgorithms(env.ANNAL_OIDC_ALGORITHMS),
    // Bounded: a generous tolerance turns an expired token back into a valid one.
    oidcClockToleranceSeconds: integer(env, "ANNAL_OIDC_CLOCK_TOLERANCE_SECONDS", 30, 0, 300),
    oidcTokenCacheSeconds: integer(env, "ANNAL_OIDC_TOKEN_CACHE_SECONDS", 60, 0, 300),
    rbacPolicyFile: env.ANNAL_RBAC_POLICY_FILE || undefined,
    publicUrl: optionalUrl(env, "ANNAL_PUBLIC_URL")?.replace(/\/$/, ""),
    databaseAllowInsecure: env.ANNAL_DB_ALLOW_INSECURE === "1" || env.ANNAL_DB_ALLOW_INSECURE === "true",
    traceAppends: env.ANNAL_TRACE_APPENDS === "1" || env.ANNAL_TRACE_APPENDS === "true",
    accessLog: env.ANNAL_ACCESS_LOG === "1" || env.ANNAL_ACCESS_LOG === "true",
    projections: projectionList(env.ANNAL_PROJECTIONS),
    projectionsDir: env.ANNAL_PROJECTIONS_DIR ? resolve(env.ANNAL_PROJECTIONS_DIR) : undefined,
    projectionBatchSize: integer(env, "ANNAL_PROJECTION_BATCH", 1000, 1, 50_000),
    // Below the request bound (ANNAL_REQUEST_TIMEOUT_MS), so the wait ends with its own 503.
    readWaitMs: integer(env, "ANNAL_READ_WAIT_MS", 3000, 0, 60_000),
    archive: archiveUrl(env.ANNAL_ARCHIVE, envName, resolve(env.ANNAL_HOME ?? ".annal")),
    archiveRetentionDays: integer(env, "ANNAL_ARCHIVE_RETENTION_DAYS", 2557, 1, 36_500),
    archiveSegmentEvents: integer(env, "ANNAL_ARCHIVE_SEGMENT_EVENTS", 100_000, 1, 10_000_000),
    archiveSegmentAgeSeconds: integer(env, "ANNAL_ARCHIVE_SEGMENT_AGE_SECONDS", 3600, 1, 31_536_000),
    kafkaBrokers: (env.ANNAL_KAFKA_BROKERS ?? "").split(",").map((b) => b.trim()).filter((b) => b !== ""),
    kafkaTopic: kafkaTopic(env.ANNAL_KAFKA_TOPIC),
    kafkaPartitions: integer(env, "ANNAL_KAFKA_PARTITIONS", 12, 1, 10_000),
    kafkaControlIntervalMs: integer(env, "ANNAL_KAFKA_CONTROL_INTERVAL_MS", 10_000, 100, 3_600_000),
    ...timeouts(env),
    secrets: secretSources(env),
    kafkaSasl: kafkaSasl(env),
  };
}

/** The secret settings, with the environment variable each is read from (messages name them). */
export const SECRET_SETTINGS = {
  databasePassword: "ANNAL_DB_PASSWORD",
  s3AccessKey: "ANNAL_S3_ACCESS_KEY",
  s3SecretKey: "ANNAL_S3_SECRET_KEY",
  kafkaSaslPassword: "ANNAL_KAFKA_SASL_PASSWORD",
} as const satisfies Record<Exclude<keyof SecretSources, "refreshMs">, string>;

function secretSources(env: Env): SecretSources {
  const uri = (name: string): string | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    // A pasted value would end up in process listings and crash dumps: settings name a source.
    if (!isSecretUri(raw)) throw new LedgerError("ERR_CONFIG", `${name} must be a secret URI (${SECRET_SCHEMES.join(", ")}), not the secret itself: e.g. ${name}=file:/run/secrets/${name.toLowerCase()}`);
    return raw;
  };
  const sources = {
    databasePassword: uri(SECRET_SETTINGS.databasePassword),
    s3AccessKey: uri(SECRET_SETTINGS.s3AccessKey),
    s3SecretKey: uri(SECRET_SETTINGS.s3SecretKey),
    kafkaSaslPassword: uri(SECRET_SETTINGS.kafkaSaslPassword),
    refreshMs: integer(env, "ANNAL_SECRET_REFRESH_MS", 1000, 100, 3_600_000),
  };
  if ((sources.s3AccessKey === undefined) !== (sources.s3SecretKey === undefined)) throw new LedgerError("ERR_CONFIG", "ANNAL_S3_ACCESS_KEY and ANNAL_S3_SECRET_KEY must be set together");
  return sources;
}

function kafkaSasl(env: Env): AnnalConfig["kafkaSasl"] {
  const mechanism = env.ANNAL_KAFKA_SASL_MECHANISM || undefined;
  const username = env.ANNAL_KAFKA_SASL_USERNAME || undefined;
  const password = env.ANNAL_KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined && username === undefined && password === undefined) return undefined;
  if (mechanism !== "plain" && mechanism !== "scram-sha-256" && mechanism !== "scram-sha-512") throw new LedgerError("ERR_CONFIG", `ANNAL_KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(mechanism ?? "")}`);
  if (username === undefined || password === undefined) throw new LedgerError("ERR_CONFIG", "Kafka SASL needs ANNAL_KAFKA_SASL_MECHANISM, ANNAL_KAFKA_SASL_USERNAME and ANNAL_KAFKA_SASL_PASSWORD together");
  return { mechanism, username };
}

function projectionList(raw: string | undefined): readonly string[] | "all" | "none" {
  if (raw === undefined || raw.trim() === "" || raw.trim() === "all") return "all";
  if (raw.trim() === "none") return "none";
  const names = raw.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const bad = names.filter((n) => !/^[a-z][a-z0-9_]{0,40}$/.test(n));
  if (bad.length > 0) throw new LedgerError("ERR_CONFIG", `ANNAL_PROJECTIONS must be all, none or a comma list of projection names; refused: ${bad.join(", ")}`);
  return names;
}

function timeouts(env: Env): Pick<AnnalConfig, "requestTimeoutMs" | "databaseConnectTimeoutMs" | "databaseStatementTimeoutMs"> {
  const requestTimeoutMs = integer(env, "ANNAL_REQUEST_TIMEOUT_MS", 5000, 1000, 600_000);
  const databaseConnectTimeoutMs = integer(env, "ANNAL_DB_CONNECT_TIMEOUT_MS", 1500, 100, 600_000);
  const databaseStatementTimeoutMs = integer(env, "ANNAL_DB_STATEMENT_TIMEOUT_MS", 3000, 100, 600_000);
  // An append waits for a connection and then its statement; both must fit in its bound
  // (requestTimeoutMs - 500), or the bound would answer "outcome unknown" for appends the
  // database was merely slow to refuse.
  if (databaseConnectTimeoutMs + databaseStatementTimeoutMs > requestTimeoutMs - 500) {
    throw new LedgerError(
      "ERR_CONFIG",
      `ANNAL_DB_CONNECT_TIMEOUT_MS + ANNAL_DB_STATEMENT_TIMEOUT_MS (${databaseConnectTimeoutMs} + ${databaseStatementTimeoutMs}) must be at most ANNAL_REQUEST_TIMEOUT_MS - 500 (${requestTimeoutMs - 500})`,
    );
  }
  const readWaitMs = integer(env, "ANNAL_READ_WAIT_MS", 3000, 0, 60_000);
  if (readWaitMs > requestTimeoutMs - 500) {
    throw new LedgerError("ERR_CONFIG", `ANNAL_READ_WAIT_MS (${readWaitMs}) must be at most ANNAL_REQUEST_TIMEOUT_MS - 500 (${requestTimeoutMs - 500}): a read-your-writes read must answer within the request bound`);
  }
  return { requestTimeoutMs, databaseConnectTimeoutMs, databaseStatementTimeoutMs };
}

function archiveUrl(raw: string | undefined, envName: string, home: string): string | undefined {
  if (raw === "off") return undefined;
  if (raw === undefined || raw === "") return envName === "production" ? undefined : pathToFileURL(resolve(home, "archive")).href;
  if (!/^(s3:\/\/[^/\s]+(\/\S*)?|file:\/\/\/\S+)$/.test(raw)) throw new LedgerError("ERR_CONFIG", `ANNAL_ARCHIVE must be s3://bucket/prefix, file:///path or off, got ${JSON.stringify(raw)}`);
  return raw;
}

function authMode(raw: string | undefined): "oidc" | "off" {
  if (raw === undefined || raw === "" || raw === "oidc") return "oidc";
  if (raw === "off") return "off";
  throw new LedgerError("ERR_CONFIG", `ANNAL_AUTH must be "oidc" or "off", got ${JSON.stringify(raw)}`);
}

function optionalUrl(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LedgerError("ERR_CONFIG", `${name} must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new LedgerError("ERR_CONFIG", `${name} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return raw;
}

function tokenAlgorithms(raw: string | undefined): string[] {
  if (raw === undefined || raw === "") return ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"];
  const list = raw.split(",").map((a) => a.trim()).filter((a) => a !== "");
  // `none` and HMAC are never accepted: with HMAC the issuer's public key would be a signing secret.
  const refused = list.filter((a) => !ALLOWED_TOKEN_ALGORITHMS.includes(a));
  if (list.length === 0 || refused.length > 0) {
    throw new LedgerError("ERR_CONFIG", `ANNAL_OIDC_ALGORITHMS may list only ${ALLOWED_TOKEN_ALGORITHMS.join(", ")}; refused: ${refused.join(", ") || "(empty)"}`);
  }
  return list;
}

/** Passwords we refuse in production whatever their length: the ones in every quick-start guide. */
const KNOWN_DEFAULT_SECRETS = new Set([
  "postgres", "password", "passw0rd", "secret", "changeme", "change-me", "admin", "annal", "minioadmin", "example", "test", "root", "letmein", "123456",
  // Quick-start values of the services Annal talks to (MinIO, Kafka SASL examples, Vault dev mode, AWS docs).
  "minioadmin123", "admin-secret", "alice-secret", "kafka", "kafka-secret", "root-token", "password123", "supersecret", "changeit",
  "wjalrxutnfemi/k7mdeng/bpxrficyexamplekey",
]);
export const MIN_SECRET_LENGTH = 16;

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Why this configuration must not run in production: one sentence per problem, all of
 * them at once, so an operator fixes the deployment in one pass. Empty in development.
 */
export function productionProblems(config: AnnalConfig): string[] {
  if (config.env !== "production") return [];
  const problems: string[] = [];
  if (config.auth === "off") problems.push("authentication is off (ANNAL_AUTH=off): set ANNAL_AUTH=oidc with ANNAL_OIDC_ISSUER and ANNAL_OIDC_AUDIENCE");
  if (usesDevIdentityProvider(config)) problems.push("the embedded development identity provider is on: set ANNAL_OIDC_ISSUER (and ANNAL_OIDC_AUDIENCE) to your identity provider");
  if (config.auth === "off" && !isLoopback(config.host)) problems.push(`it would listen on ${config.host}, beyond loopback, without authentication: turn authentication on or bind ANNAL_HOST to 127.0.0.1`);
  if (config.signingKey === undefined) problems.push("the signing key is the generated development key: set ANNAL_SIGNING_KEY (a key URI, e.g. pkcs11:…) or ANNAL_SIGNING_KEY_FILE to the production ledger key");
  else if (/[?&]pin-value=/.test(config.signingKey)) problems.push("ANNAL_SIGNING_KEY carries the HSM PIN in the URI (pin-value): use pin-source=<file> (mode 0600) instead");
  if (config.databaseUrl === undefined) {
    problems.push("DATABASE_URL is not set, so the embedded development PostgreSQL would be used: point DATABASE_URL at the production database");
  } else {
    let url: URL | undefined;
    try {
      url = new URL(config.databaseUrl);
    } catch {
      problems.push("DATABASE_URL is not a valid URL");
    }
    if (url !== undefined) {
      const sslmode = url.searchParams.get("sslmode");
      if (sslmode !== "require" && sslmode !== "verify-full" && !config.databaseAllowInsecure) {
        problems.push("the database connection has no TLS: add sslmode=verify-full (or sslmode=require) to DATABASE_URL, or set ANNAL_DB_ALLOW_INSECURE=1 if the link is protected otherwise");
      }
      problems.push(...databasePasswordProblems(config, decodeURIComponent(url.password)));
    }
  }
  if (config.archive?.startsWith("file:")) problems.push("the archive is a local directory (ANNAL_ARCHIVE=file://...), which is NOT WORM: set ANNAL_ARCHIVE=s3://bucket/prefix on a bucket with Object Lock in COMPLIANCE mode");
  problems.push(...staticSecretProblems(config));
  return problems;
}

const ROTATABLE = "file:/run/secrets/... (a file only Annal's user can read) or vault-kv:mount/path?field=...";

function databasePasswordProblems(config: AnnalConfig, urlPassword: string): string[] {
  if (config.secrets.databasePassword !== undefined) {
    return urlPassword === "" ? [] : ["DATABASE_URL carries a password as well as ANNAL_DB_PASSWORD: remove it from DATABASE_URL"];
  }
  if (urlPassword === "") return [`the database password is not set: set ANNAL_DB_PASSWORD=${ROTATABLE}`];
  // Both faults at once: a static secret that is also weak needs a new value, not only a new home.
  return [`the database password is written into DATABASE_URL (static: it cannot rotate without a restart): set ANNAL_DB_PASSWORD=${ROTATABLE} and remove it from the URL`, ...secretProblems("the DATABASE_URL password", urlPassword)];
}

/** Credentials from sources that cannot change while Annal runs: one line per secret. */
function staticSecretProblems(config: AnnalConfig): string[] {
  const problems: string[] = [];
  const check = (setting: string, uri: string | undefined) => {
    if (uri?.startsWith("env:")) problems.push(`${setting} comes from ${uri} (static: an environment variable cannot rotate without a restart): use ${ROTATABLE}`);
  };
  check(SECRET_SETTINGS.databasePassword, config.secrets.databasePassword);
  if (config.archive?.startsWith("s3:")) {
    if (config.secrets.s3SecretKey === undefined) problems.push(`the archive's S3 secret key would come from AWS_SECRET_ACCESS_KEY (static): set ANNAL_S3_ACCESS_KEY and ANNAL_S3_SECRET_KEY to ${ROTATABLE}`);
    check(SECRET_SETTINGS.s3SecretKey, config.secrets.s3SecretKey);
  }
  check(SECRET_SETTINGS.kafkaSaslPassword, config.secrets.kafkaSaslPassword);
  for (const witness of config.witnesses) {
    if (hasUrlPassword(witness.url)) problems.push(`the witness URL ${maskUrl(witness.url)} carries a password (static): remove it from ANNAL_WITNESSES`);
  }
  return problems;
}

function hasUrlPassword(text: string): boolean {
  try {
    return new URL(text).password !== "";
  } catch {
    return false;
  }
}

/**
 * Why a secret's value is too weak for production (empty, a well-known default, short):
 * checked at start-up once each provider has been read; `name` names the setting.
 */
export function secretValueProblems(name: string, value: string): string[] {
  return secretProblems(name, value);
}

function secretProblems(name: string, value: string): string[] {
  if (value === "") return [`${name} is empty`];
  if (KNOWN_DEFAULT_SECRETS.has(value.toLowerCase())) return [`${name} is a well-known default: use a generated secret`];
  if (value.length < MIN_SECRET_LENGTH) return [`${name} is shorter than ${MIN_SECRET_LENGTH} characters`];
  return [];
}

/** Throws ERR_CONFIG listing every production problem; `annal serve` calls it before opening anything. */
export function assertProductionReady(config: AnnalConfig): void {
  const problems = productionProblems(config);
  if (problems.length > 0) {
    throw new LedgerError("ERR_CONFIG", `refusing to start in production:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
  }
}

/** The configuration as `GET /admin/config` shows it: secrets masked, paths and modes kept. */
export function maskedConfig(config: AnnalConfig, secretValues: readonly string[] = []): Record<string, unknown> {
  const masked = {
    ...config,
    databaseUrl: config.databaseUrl === undefined ? undefined : maskUrl(config.databaseUrl),
    signingKey: config.signingKey === undefined ? undefined : maskKeyUri(config.signingKey),
    oidcIssuer: config.oidcIssuer === undefined ? undefined : maskUrl(config.oidcIssuer),
    publicUrl: config.publicUrl === undefined ? undefined : maskUrl(config.publicUrl),
    witnesses: config.witnesses.map((w) => ({ url: maskUrl(w.url), verifierKey: w.verifierKey })),
  };
  // By value as well as by key: wherever a current secret's value shows up (a URL, a
  // setting that should not hold it), it is masked.
  return maskValues(masked, secretValues.filter((v) => v.length >= 4)) as Record<string, unknown>;
}

function maskValues(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === "string") return secrets.reduce((text, secret) => text.split(secret).join("****"), value);
  if (Array.isArray(value)) return value.map((v) => maskValues(v, secrets));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValues(v, secrets)]));
  return value;
}

/** A URL with its password (userinfo or `password=` query value) replaced by ****. */
function maskUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== "") url.password = "****";
    if (url.searchParams.has("password")) url.searchParams.set("password", "****");
    return url.toString();
  } catch {
    return "****";
  }
}

function signingKeyUri(env: Env): string | undefined {
  const uri = env.ANNAL_SIGNING_KEY || undefined;
  const file = env.ANNAL_SIGNING_KEY_FILE || undefined;
  if (uri !== undefined && file !== undefined) throw new LedgerError("ERR_CONFIG", "set one of ANNAL_SIGNING_KEY and ANNAL_SIGNING_KEY_FILE, not both");
  if (uri !== undefined) parseKeyUri(uri);
  return uri ?? (file === undefined ? undefined : `file:${file}`);
}

function kafkaTopic(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "annal.events";
  // Kafka's own rule, lowercase only: the relay's follower name is derived from the topic.
  if (!/^[a-z0-9._-]{1,114}$/.test(raw)) throw new LedgerError("ERR_CONFIG", `ANNAL_KAFKA_TOPIC must be 1 to 114 of [a-z0-9._-], got ${JSON.stringify(raw)}`);
  return raw;
}

function commitMode(raw: string | undefined): "sync" | "flush" {
  if (raw === undefined || raw === "" || raw === "sync") return "sync";
  if (raw === "flush") return "flush";
  throw new LedgerError("ERR_CONFIG", `ANNAL_COMMIT_MODE must be "sync" or "flush", got ${JSON.stringify(raw)}`);
}
