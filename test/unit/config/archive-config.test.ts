import { describe, expect, it } from "vitest";
import { loadConfig, productionProblems } from "../../../src/config.js";
import { archiveFor } from "../../../src/cli/archive-commands.js";

const PRODUCTION = {
  ANNAL_ENV: "production",
  ANNAL_HOST: "0.0.0.0",
  ANNAL_AUTH: "oidc",
  ANNAL_OIDC_ISSUER: "https://id.example.com/realms/annal",
  ANNAL_SIGNING_KEY_FILE: "/run/secrets/annal-ledger-key.pem",
  DATABASE_URL: "postgres://annal@db.example.com:5432/annal?sslmode=verify-full",
  ANNAL_DB_PASSWORD: "file:/run/secrets/annal-db-password",
};

describe("archive configuration", () => {
  it("defaults to a local directory under ANNAL_HOME in development, which says it is not WORM", () => {
    const config = loadConfig({ ANNAL_HOME: "/tmp/annal-home" });
    expect(config.archive).toBe("file:///tmp/annal-home/archive");
    expect(archiveFor(config, {}).store).toMatchObject({ worm: false, description: expect.stringMatching(/NOT WORM/) });
    expect(config).toMatchObject({ archiveRetentionDays: 2557, archiveSegmentEvents: 100_000, archiveSegmentAgeSeconds: 3600 });
  });

  it("refuses the local directory in production, and has no default there", () => {
    const refused = loadConfig({ ...PRODUCTION, ANNAL_ARCHIVE: "file:///var/lib/annal/archive" });
    expect(productionProblems(refused)).toEqual([expect.stringMatching(/NOT WORM/)]);
    expect(() => archiveFor(refused, {})).toThrow(/NOT WORM/);
    expect(loadConfig(PRODUCTION).archive).toBeUndefined();
    const s3Keys = { ANNAL_S3_ACCESS_KEY: "file:/run/secrets/s3-access-key", ANNAL_S3_SECRET_KEY: "vault-kv:secret/annal/s3?field=secret_key" };
    expect(productionProblems(loadConfig({ ...PRODUCTION, ANNAL_ARCHIVE: "s3://evidence/annal", ...s3Keys }))).toEqual([]);
    // The standard AWS variables are static: production names the S3 key that would come from them.
    expect(productionProblems(loadConfig({ ...PRODUCTION, ANNAL_ARCHIVE: "s3://evidence/annal" }))).toEqual([expect.stringMatching(/^the archive's S3 secret key would come from AWS_SECRET_ACCESS_KEY \(static\)/)]);
  });

  it("reads s3:// with the standard AWS variables, never keeping the secret in the configuration", () => {
    const config = loadConfig({ ANNAL_ARCHIVE: "s3://evidence/prod/ledger" });
    expect(JSON.stringify(config)).not.toMatch(/AWS/);
    expect(config.secrets).toMatchObject({ s3AccessKey: undefined, s3SecretKey: undefined });
    const { store, prefix } = archiveFor(config, { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "s".repeat(20), AWS_ENDPOINT_URL: "http://127.0.0.1:9000" });
    expect(prefix).toBe("prod/ledger/");
    expect(store).toMatchObject({ worm: true, description: "s3://evidence at 127.0.0.1:9000" });
    expect(() => archiveFor(config, {})).toThrow(/AWS_ACCESS_KEY_ID/);
  });

  it("refuses malformed settings", () => {
    expect(() => loadConfig({ ANNAL_ARCHIVE: "http://bucket" })).toThrow(/ANNAL_ARCHIVE/);
    expect(() => loadConfig({ ANNAL_ARCHIVE_RETENTION_DAYS: "0" })).toThrow(/ANNAL_ARCHIVE_RETENTION_DAYS/);
    expect(loadConfig({ ANNAL_ARCHIVE: "off" }).archive).toBeUndefined();
  });
});
