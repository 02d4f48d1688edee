import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import type { Provided, ProvidedServices } from "./provided-services.js";

function provided(): ProvidedServices | undefined {
  try {
    return inject("annalServices");
  } catch {
    return undefined;
  }
}

function need<K extends keyof ProvidedServices>(key: K): Extract<ProvidedServices[K], { ok: true }> {
  const services = provided();
  if (!services) {
    throw new Error(`no services for this test file: only test/integration and test/e2e run with the services global setup (vitest.config.ts); move the test there`);
  }
  const entry = services[key] as Provided<object>;
  if (!entry.ok) throw new Error(entry.reason);
  return entry as Extract<ProvidedServices[K], { ok: true }>;
}

/** The suite's superuser URL of the server (database `postgres`). */
export function postgresAdminUrl(): string {
  return need("postgres").url;
}

/**
 * A fresh, empty database on the suite's Postgres (random name), superuser URL. Throws with a
 * clear reason if Postgres was not started. `drop()` ends open sessions first (WITH FORCE), so
 * a test that forgot to close a pool still cleans up.
 *
 * @example
 *   const db = await createTestDatabase();
 *   afterAll(() => db.drop());
 *   const pool = new pg.Pool({ connectionString: db.url });
 */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = postgresAdminUrl();
  const name = `test_${Date.now().toString(36)}_${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`) };
}

export function kafkaBrokers(): string[] {
  return need("kafka").brokers;
}

/** For `new Minio.Client(s3Config())`. */
export function s3Config(): { endPoint: string; port: number; useSSL: false; accessKey: string; secretKey: string } {
  const s3 = need("s3");
  const endpoint = new URL(s3.endpoint);
  if (endpoint.protocol !== "http:") throw new Error(`S3_ENDPOINT ${s3.endpoint}: the suite speaks plain HTTP to a loopback S3 server; use an http:// endpoint`);
  return { endPoint: endpoint.hostname, port: Number(endpoint.port || 80), useSSL: false, accessKey: s3.accessKey, secretKey: s3.secretKey };
}

let counter = 0;

/**
 * Lowercase [a-z0-9-], unique per call (time, pid-independent randomness and a counter) and at
 * most 63 characters, so it is valid as a Kafka topic, an S3 bucket and a stream id.
 */
export function randomName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "t";
  counter += 1;
  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}-${counter.toString(36)}`;
  return `${clean.slice(0, 62 - suffix.length)}-${suffix}`;
}
