import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { openAnnal } from "../annal.js";
import { loadConfig } from "../config.js";
import type { KeyRotation, PublicKeyInfo } from "../ledger/index.js";
import { createPool } from "../store/postgres/pool.js";
import { createPostgresReader } from "../store/postgres/reader.js";
import { authHeaders, createJsonClient } from "./http-client.js";

/** The window of a key as `from..to` (`from..` while in force, `-` never in force). */
export function formatWindow(key: Pick<PublicKeyInfo, "fromPosition" | "toPosition">): string {
  if (key.fromPosition === undefined) return "-";
  return `${key.fromPosition}..${key.toPosition ?? ""}`;
}

async function listKeys(opts: { url?: string; databaseUrl?: string }): Promise<PublicKeyInfo[]> {
  if (opts.url) return (await createJsonClient(opts.url, fetch, authHeaders()).get<{ keys: PublicKeyInfo[] }>("/keys")).keys;
  const pool = createPool({ connectionString: opts.databaseUrl!, max: 1, applicationName: "annal-keys" });
  try {
    return await createPostgresReader(pool).publicKeys();
  } finally {
    await pool.end();
  }
}

/** Rotation over HTTP (POST /admin/keys/rotate, `admin:*`; ANNAL_TOKEN as bearer token). */
async function rotateOverHttp(url: string): Promise<Omit<KeyRotation, "receipt">> {
  const response = await fetch(`${url.replace(/\/+$/, "")}/admin/keys/rotate`, { method: "POST", headers: { accept: "application/json", ...authHeaders() } });
  const body = (await response.json().catch(() => ({}))) as Omit<KeyRotation, "receipt"> & { detail?: string; code?: string };
  if (!response.ok) throw new Error(`POST /admin/keys/rotate answered ${response.status}${body.code ? ` ${body.code}` : ""}: ${body.detail ?? ""}`);
  return body;
}

/**
 * Rotation straight on the database: this process opens the ledger with the configured
 * key (ANNAL_SIGNING_KEY_FILE) and the next one (ANNAL_NEXT_SIGNING_KEY), appends the
 * KeyRotated event under the chain-head lock and exits. Running servers that hold the
 * next key switch at the same position; the others refuse appends until given it.
 */
async function rotateOnDatabase(databaseUrl: string): Promise<Omit<KeyRotation, "receipt">> {
  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl });
  if (config.nextSigningKey === undefined) throw new InvalidArgumentError("set ANNAL_NEXT_SIGNING_KEY to the key to rotate to (file:/path/to/next.pem)");
  const core = await openAnnal(config, pino({ level: "warn" }));
  try {
    return await core.ledger.rotateKey();
  } finally {
    await core.close();
  }
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command("keys").description("ledger signing keys and their position windows (docs/operations.md \"Key rotation\")");

  keys
    .command("list")
    .description("list every ledger key with its window of positions")
    .option("--database-url <url>", "read annal.signing_keys (default: $DATABASE_URL)")
    .option("--url <url>", "read GET /keys of a running Annal")
    .option("--json", "print the keys as GET /keys does")
    .action(async (opts: { databaseUrl?: string; url?: string; json?: boolean }) => {
      const databaseUrl = opts.databaseUrl ?? (opts.url ? undefined : process.env.DATABASE_URL);
      if (!databaseUrl === !opts.url) throw new InvalidArgumentError("give exactly one of --database-url (or DATABASE_URL) or --url");
      const list = await listKeys({ ...(opts.url ? { url: opts.url } : {}), ...(databaseUrl ? { databaseUrl } : {}) });
      if (opts.json) {
        console.log(JSON.stringify({ keys: list }, null, 2));
        return;
      }
      for (const k of list) {
        const state = k.fromPosition === undefined ? "never in force" : k.toPosition === undefined ? "in force" : "retired";
        console.log(`${k.keyId}  positions ${formatWindow(k).padEnd(16)} ${state.padEnd(15)} ${k.noteVerifierKey}`);
      }
    });

  keys
    .command("rotate")
    .description("put ANNAL_NEXT_SIGNING_KEY in force from the next position (a KeyRotated event signed by both keys)")
    .option("--database-url <url>", "rotate directly on this database, with this process's keys (default: $DATABASE_URL)")
    .option("--url <url>", "ask a running Annal to rotate (POST /admin/keys/rotate; ANNAL_TOKEN with admin:*)")
    .action(async (opts: { databaseUrl?: string; url?: string }) => {
      const databaseUrl = opts.databaseUrl ?? (opts.url ? undefined : process.env.DATABASE_URL);
      if (!databaseUrl === !opts.url) throw new InvalidArgumentError("give exactly one of --database-url (or DATABASE_URL) or --url");
      const rotation = opts.url ? await rotateOverHttp(opts.url) : await rotateOnDatabase(databaseUrl!);
      console.log(`rotated: key ${rotation.previousKeyId} signs up to position ${rotation.position} (its KeyRotated event); key ${rotation.newKeyId} signs from position ${rotation.fromPosition}`);
    });
}
