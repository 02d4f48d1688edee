import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertProductionReady, loadConfig, maskedConfig, productionProblems } from "../../../src/config.js";
import { runCli } from "../../support/processes.js";
import { formatCosignerVerifierKey } from "../../../src/verify/cosignature.js";

// A production configuration with nothing wrong; each test breaks exactly one rule.
const GOOD = {
  ANNAL_ENV: "production",
  ANNAL_HOST: "0.0.0.0",
  ANNAL_AUTH: "oidc",
  ANNAL_OIDC_ISSUER: "https://id.example.com/realms/annal",
  ANNAL_OIDC_AUDIENCE: "https://ledger.example.com",
  ANNAL_SIGNING_KEY_FILE: "/run/secrets/annal-ledger-key.pem",
  DATABASE_URL: "postgres://annal@db.example.com:5432/annal?sslmode=verify-full",
  ANNAL_DB_PASSWORD: "file:/run/secrets/annal-db-password",
};
const STATIC_DB = "the database password is written into DATABASE_URL (static: it cannot rotate without a restart): set ANNAL_DB_PASSWORD=file:/run/secrets/... (a file only Annal's user can read) or vault-kv:mount/path?field=... and remove it from the URL";
const problemsWith = (overrides: Record<string, string | undefined>) => productionProblems(loadConfig({ ...GOOD, ...overrides }));

describe("production refusal", () => {
  it("accepts a complete production configuration", () => {
    expect(problemsWith({})).toEqual([]);
    expect(() => assertProductionReady(loadConfig(GOOD))).not.toThrow();
  });

  it("ignores all of this in development", () => {
    expect(productionProblems(loadConfig({ ANNAL_ENV: "development", ANNAL_AUTH: "off", ANNAL_HOST: "0.0.0.0" }))).toEqual([]);
  });

  it("refuses authentication off", () => {
    expect(problemsWith({ ANNAL_AUTH: "off", ANNAL_HOST: "127.0.0.1" })).toEqual(["authentication is off (ANNAL_AUTH=off): set ANNAL_AUTH=oidc with ANNAL_OIDC_ISSUER and ANNAL_OIDC_AUDIENCE"]);
  });

  it("refuses the embedded development identity provider", () => {
    expect(problemsWith({ ANNAL_OIDC_ISSUER: undefined })).toEqual([
      "the embedded development identity provider is on: set ANNAL_OIDC_ISSUER (and ANNAL_OIDC_AUDIENCE) to your identity provider",
    ]);
  });

  it("refuses the generated development signing key", () => {
    expect(problemsWith({ ANNAL_SIGNING_KEY_FILE: undefined })).toEqual(["the signing key is the generated development key: set ANNAL_SIGNING_KEY (a key URI, e.g. pkcs11:…) or ANNAL_SIGNING_KEY_FILE to the production ledger key"]);
  });

  it("takes the ledger key as a URI (ANNAL_SIGNING_KEY), and the file name as file:", () => {
    expect(loadConfig({ ANNAL_SIGNING_KEY_FILE: "/run/k.pem" }).signingKey).toBe("file:/run/k.pem");
    expect(problemsWith({ ANNAL_SIGNING_KEY_FILE: undefined, ANNAL_SIGNING_KEY: "awskms:alias/annal?region=eu-west-1" })).toEqual([]);
    expect(() => loadConfig({ ANNAL_SIGNING_KEY: "s3kms:nope" })).toThrow(/unknown signing key URI scheme/);
    expect(() => loadConfig({ ANNAL_SIGNING_KEY: "env:K", ANNAL_SIGNING_KEY_FILE: "/k.pem" })).toThrow(/not both/);
  });

  it("refuses an HSM PIN in the key URI (pin-value), and /admin/config masks it", () => {
    const uri = "pkcs11:token=annal;object=ledger?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=S3cretPin9912";
    expect(problemsWith({ ANNAL_SIGNING_KEY_FILE: undefined, ANNAL_SIGNING_KEY: uri })).toEqual([
      "ANNAL_SIGNING_KEY carries the HSM PIN in the URI (pin-value): use pin-source=<file> (mode 0600) instead",
    ]);
    expect(problemsWith({ ANNAL_SIGNING_KEY_FILE: undefined, ANNAL_SIGNING_KEY: uri.replace("pin-value=S3cretPin9912", "pin-source=/run/secrets/pin") })).toEqual([]);
    const masked = JSON.stringify(maskedConfig(loadConfig({ ANNAL_SIGNING_KEY: uri })));
    expect(masked).not.toContain("S3cretPin9912");
    expect(masked).toContain("pin-value=****");
  });

  it("refuses the embedded PostgreSQL", () => {
    expect(problemsWith({ DATABASE_URL: undefined })).toEqual([
      "DATABASE_URL is not set, so the embedded development PostgreSQL would be used: point DATABASE_URL at the production database",
    ]);
  });

  it.each([
    ["a known default", "postgres://annal:postgres@db.example.com/annal?sslmode=require", "the DATABASE_URL password is a well-known default: use a generated secret"],
    ["too short", "postgres://annal:x7Qk29aB@db.example.com/annal?sslmode=require", "the DATABASE_URL password is shorter than 16 characters"],
  ])("refuses a password in DATABASE_URL as static, and also as weak when it is %s", (_name, url, message) => {
    expect(problemsWith({ DATABASE_URL: url, ANNAL_DB_PASSWORD: undefined })).toEqual([STATIC_DB, message]);
  });

  it("refuses a strong password written into DATABASE_URL: it is static", () => {
    expect(problemsWith({ DATABASE_URL: "postgres://annal:Zq8r1xV4pLk2mN7wT3@db.example.com/annal?sslmode=require", ANNAL_DB_PASSWORD: undefined })).toEqual([STATIC_DB]);
  });

  it("refuses no database password at all, and a password both in the URL and from a provider", () => {
    expect(problemsWith({ ANNAL_DB_PASSWORD: undefined })).toEqual(["the database password is not set: set ANNAL_DB_PASSWORD=file:/run/secrets/... (a file only Annal's user can read) or vault-kv:mount/path?field=..."]);
    expect(problemsWith({ DATABASE_URL: "postgres://annal:Zq8r1xV4pLk2mN7wT3@db.example.com/annal?sslmode=require" })).toEqual(["DATABASE_URL carries a password as well as ANNAL_DB_PASSWORD: remove it from DATABASE_URL"]);
  });

  it("refuses a database connection without TLS unless explicitly allowed", () => {
    const plain = "postgres://annal@db.example.com:5432/annal";
    const message =
      "the database connection has no TLS: add sslmode=verify-full (or sslmode=require) to DATABASE_URL, or set ANNAL_DB_ALLOW_INSECURE=1 if the link is protected otherwise";
    expect(problemsWith({ DATABASE_URL: plain })).toEqual([message]);
    expect(problemsWith({ DATABASE_URL: `${plain}?sslmode=prefer` })).toEqual([message]);
    expect(problemsWith({ DATABASE_URL: plain, ANNAL_DB_ALLOW_INSECURE: "1" })).toEqual([]);
  });

  it("refuses listening beyond loopback without authentication", () => {
    expect(problemsWith({ ANNAL_AUTH: "off", ANNAL_HOST: "0.0.0.0" })).toContain(
      "it would listen on 0.0.0.0, beyond loopback, without authentication: turn authentication on or bind ANNAL_HOST to 127.0.0.1",
    );
  });

  it("collects every problem and fails once, listing them all", () => {
    const config = loadConfig({ ANNAL_ENV: "production", ANNAL_AUTH: "off", ANNAL_HOST: "0.0.0.0", DATABASE_URL: "postgres://u:secret@db/annal" });
    expect(() => assertProductionReady(config)).toThrow(/refusing to start in production/);
    // auth off, beyond loopback, dev key, no TLS, the password static and a known default.
    expect(productionProblems(config)).toHaveLength(6);
  });

  it("makes `annal serve` exit before opening anything, one line per problem", async () => {
    const home = await mkdtemp(join(tmpdir(), "annal-prod-"));
    const result = await runCli(["serve"], { ANNAL_ENV: "production", ANNAL_AUTH: "off", ANNAL_HOST: "0.0.0.0", ANNAL_HOME: home, DATABASE_URL: "", ANNAL_SIGNING_KEY_FILE: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("ERR_CONFIG: refusing to start in production:");
    for (const fragment of ["authentication is off", "beyond loopback", "generated development key", "DATABASE_URL is not set"]) expect(result.stderr).toContain(fragment);
    // Nothing was opened: no embedded database directory, no dev key.
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(home)).toEqual([]);
  });
});

describe("effective configuration for GET /admin/config", () => {
  it("masks the database password", () => {
    const masked = maskedConfig(loadConfig({ ...GOOD, DATABASE_URL: "postgres://annal:Zq8r1xV4pLk2mN7wT3@db.example.com:5432/annal?sslmode=verify-full" }));
    expect(JSON.stringify(masked)).not.toContain("Zq8r1xV4pLk2mN7wT3");
    expect(masked["databaseUrl"]).toBe("postgres://annal:****@db.example.com:5432/annal?sslmode=verify-full");
  });

  it("masks passwords in every URL it shows: a password= parameter, witness and issuer userinfo", () => {
    const masked = maskedConfig(
      loadConfig({
        ...GOOD,
        DATABASE_URL: "postgres://annal@db.example.com:5432/annal?sslmode=verify-full&password=Qm9sd3Bhc3N3b3Jk",
        ANNAL_OIDC_ISSUER: "https://svc:Issuer5ecret99@idp.example.com/realms/annal",
        ANNAL_WITNESSES: JSON.stringify([{ url: "https://w:Witne55Secret@witness.example.com", verifierKey: formatCosignerVerifierKey("witness.example.com", new Uint8Array(32).fill(7)) }]),
      }),
    );
    const text = JSON.stringify(masked);
    for (const secret of ["Qm9sd3Bhc3N3b3Jk", "Issuer5ecret99", "Witne55Secret"]) expect(text).not.toContain(secret);
  });
});

describe("auth configuration", () => {
  it("refuses HMAC and none in the token algorithm allow-list", () => {
    expect(() => loadConfig({ ANNAL_OIDC_ALGORITHMS: "RS256,HS256" })).toThrow(/refused: HS256/);
    expect(() => loadConfig({ ANNAL_OIDC_ALGORITHMS: "none" })).toThrow(/refused: none/);
  });

  it("bounds the clock tolerance", () => {
    expect(() => loadConfig({ ANNAL_OIDC_CLOCK_TOLERANCE_SECONDS: "3600" })).toThrow(/0 to 300/);
  });

  it("validates the RBAC policy file at start-up", async () => {
    const { loadPolicyFile } = await import("../../../src/auth/index.js");
    const dir = await mkdtemp(join(tmpdir(), "annal-policy-"));
    await writeFile(join(dir, "bad.json"), JSON.stringify({ roles: { writer: [{ permissions: ["events:delete"], streams: ["*"] }] } }));
    expect(() => loadPolicyFile(join(dir, "bad.json"))).toThrow(/unknown permission "events:delete"/);
  });
});

describe("production refuses static and weak credentials, naming each one", () => {
  const ROTATABLE = "file:/run/secrets/... (a file only Annal's user can read) or vault-kv:mount/path?field=...";

  it("names every credential that comes from an environment variable", () => {
    const problems = problemsWith({
      ANNAL_DB_PASSWORD: "env:PGPASSWORD",
      ANNAL_KAFKA_SASL_MECHANISM: "scram-sha-512",
      ANNAL_KAFKA_SASL_USERNAME: "annal",
      ANNAL_KAFKA_SASL_PASSWORD: "env:KAFKA_PASSWORD",
      ANNAL_ARCHIVE: "s3://evidence/annal",
      ANNAL_S3_ACCESS_KEY: "env:S3_ACCESS",
      ANNAL_S3_SECRET_KEY: "env:S3_SECRET",
    });
    expect(problems).toEqual([
      `ANNAL_DB_PASSWORD comes from env:PGPASSWORD (static: an environment variable cannot rotate without a restart): use ${ROTATABLE}`,
      `ANNAL_S3_SECRET_KEY comes from env:S3_SECRET (static: an environment variable cannot rotate without a restart): use ${ROTATABLE}`,
      `ANNAL_KAFKA_SASL_PASSWORD comes from env:KAFKA_PASSWORD (static: an environment variable cannot rotate without a restart): use ${ROTATABLE}`,
    ]);
  });

  it("refuses a secret pasted into a setting, in any environment, without repeating it", () => {
    expect(() => loadConfig({ ANNAL_DB_PASSWORD: "Zq8r1xV4pLk2mN7wT3" })).toThrow(/ANNAL_DB_PASSWORD must be a secret URI/);
    expect(() => loadConfig({ ANNAL_DB_PASSWORD: "Zq8r1xV4pLk2mN7wT3" })).not.toThrow(/Zq8r1xV4pLk2mN7wT3/);
  });

  it("refuses a witness URL with a password in it", () => {
    const witnesses = JSON.stringify([{ url: "https://w:Witne55Secret0000@witness.example.com", verifierKey: formatCosignerVerifierKey("witness.example.com", new Uint8Array(32).fill(7)) }]);
    const problems = problemsWith({ ANNAL_WITNESSES: witnesses });
    expect(problems).toEqual([expect.stringMatching(/^the witness URL https:\/\/w:\*\*\*\*@witness\.example\.com\/ carries a password/)]);
  });

  it("makes `annal serve` read every secret before connecting and refuse the weak ones, one line each, values never shown", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annal-weak-"));
    const write = async (name: string, value: string) => {
      await writeFile(join(dir, name), `${value}\n`, { mode: 0o600 });
      return `file:${join(dir, name)}`;
    };
    const result = await runCli(["serve"], {
      ...GOOD,
      ANNAL_HOME: dir,
      // Nothing listens there: the refusal must come before any connection.
      DATABASE_URL: "postgres://annal@127.0.0.1:1/annal?sslmode=verify-full",
      ANNAL_DB_PASSWORD: await write("db", "x7Qk29aB"),
      ANNAL_KAFKA_SASL_MECHANISM: "scram-sha-512",
      ANNAL_KAFKA_SASL_USERNAME: "annal",
      ANNAL_KAFKA_SASL_PASSWORD: await write("kafka", "kafka-secret"),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("ERR_CONFIG: refusing to start in production:");
    expect(result.stderr).toContain(`ANNAL_DB_PASSWORD (file:${join(dir, "db")}) is shorter than 16 characters`);
    expect(result.stderr).toContain(`ANNAL_KAFKA_SASL_PASSWORD (file:${join(dir, "kafka")}) is a well-known default`);
    expect(result.stderr + result.stdout).not.toContain("x7Qk29aB");
  });

  it("refuses to start when a secret file is readable by others, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annal-open-"));
    await writeFile(join(dir, "db"), "Zq8r1xV4pLk2mN7wT3\n", { mode: 0o644 });
    const { chmod } = await import("node:fs/promises");
    await chmod(join(dir, "db"), 0o644);
    const result = await runCli(["serve"], { ...GOOD, ANNAL_HOME: dir, DATABASE_URL: "postgres://annal@127.0.0.1:1/annal?sslmode=verify-full", ANNAL_DB_PASSWORD: `file:${join(dir, "db")}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ANNAL_DB_PASSWORD: secret file .* may be read or written by group or others \(mode 644\)/);
    expect(result.stderr).not.toContain("Zq8r1xV4pLk2mN7wT3");
  });
});
