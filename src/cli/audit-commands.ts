import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { createPool } from "../store/postgres/pool.js";
import { parseCosignerVerifierKey, parseTrustedKey, verifyReceipt, type EventReceipt, type TrustedKeyInput } from "../verify/index.js";
import { databaseKeys, fsck } from "./fsck.js";
import { createDatabaseExportSource, createHttpExportSource, exportLog } from "./export-log.js";
import { authHeaders } from "./http-client.js";
import { verifyExportFile } from "./verify-export.js";
import { checkWitness, describeWitnessReport } from "./witness-check.js";
import { serveWitness } from "./witness-serve.js";

const integer = (value: string): number => {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
};

/** `annal verify --witness` and `annal verify --file`: the offline and auditor modes of verify. */
export async function runAuditVerify(opts: { url?: string; witness?: string; file?: string; publicKey: string[]; witnessKey?: string[]; quorum?: number; fast?: boolean; progress: boolean }): Promise<void> {
  if (opts.witness) {
    if (!opts.url) throw new InvalidArgumentError("--witness needs --url");
    const stateFile = opts.witness;
    const witnessKeys = (opts.witnessKey ?? []).map((text) => {
      const key = parseCosignerVerifierKey(text);
      if (!key) throw new InvalidArgumentError(`--witness-key ${text} is not a C2SP cosignature/v1 verifier key (name+hash+base64 of 0x04 and the key)`);
      return key;
    });
    if (opts.quorum !== undefined && witnessKeys.length === 0) throw new InvalidArgumentError("--quorum needs --witness-key");
    const witnesses = witnessKeys.length > 0 ? { keys: witnessKeys, quorum: opts.quorum ?? 1 } : undefined;
    const report = await checkWitness({ url: opts.url, stateFile, ...(opts.publicKey[0] ? { publicKey: opts.publicKey[0] } : {}), ...(witnesses ? { witnesses } : {}), headers: authHeaders() });
    const { out, err } = describeWitnessReport(report, stateFile);
    for (const line of err) console.error(line);
    for (const line of out) console.log(line);
    if (!report.ok) process.exitCode = 1;
    return;
  }
  const report = await verifyExportFile(opts.file!, { publicKeys: opts.publicKey, fast: opts.fast ?? false, progress: opts.progress && process.stderr.isTTY });
  if (report.ok) {
    console.log(`OK: events ${report.from}..${report.to} verified against the signed checkpoint of size ${report.checkpoint}; root ${report.root}`);
    if (!report.pinned) console.log("note: keys were taken from the export itself; pass --public-key to pin the ledger key you trust");
  } else {
    console.error(`FAILED at position ${report.position}: ${report.reason}`);
    process.exitCode = 1;
  }
}

/** Adds verify-receipt, export and witness to the CLI. */
export function registerAuditCommands(program: Command): void {
  program
    .command("verify-receipt")
    .description("verify an event receipt (GET /events/{position}/receipt) offline against the ledger's public keys")
    .argument("<file>", "receipt JSON file")
    .requiredOption("--public-key <key>", "a ledger key you trust: C2SP verifier key or base64 Ed25519 key; repeatable (current and retired keys)", (v: string, p: string[]) => [...p, v], [])
    .option("--origin <origin>", "expected checkpoint origin")
    .action(async (file: string, opts: { publicKey: string[]; origin?: string }) => {
      const keys: TrustedKeyInput[] = opts.publicKey.map((text) => {
        const key = parseTrustedKey(text);
        if ("error" in key) throw new InvalidArgumentError(`--public-key ${text}: ${key.error}`);
        return key.name ? { verifierKey: text } : { publicKey: key.publicKey };
      });
      const receipt = JSON.parse(await readFile(file, "utf8")) as EventReceipt;
      const verdict = verifyReceipt(receipt, keys, opts.origin ? { origin: opts.origin } : {});
      if (verdict.ok) console.log(`OK: event at position ${receipt.event.position} (${receipt.event.hash}) is in the signed checkpoint of size ${receipt.checkpoint.treeSize}`);
      else {
        console.error(`FAILED: ${verdict.reason}`);
        process.exitCode = 1;
      }
    });

  program
    .command("fsck")
    .description("check the state Annal derives and serves from (Merkle subtrees, chain head, stream heads, checkpoint rows) against a recomputation; exit 1 naming the first bad row")
    .requiredOption("--database-url <url>", "the PostgreSQL database to check")
    .option("--public-key <key>", "trust only this key for checkpoint notes; repeatable (default: annal.signing_keys, i.e. the database checked)", (v: string, p: string[]) => [...p, v], [])
    .action(async (opts: { databaseUrl: string; publicKey: string[] }) => {
      const pool = createPool({ connectionString: opts.databaseUrl, max: 1, applicationName: "annal-fsck" });
      try {
        const pinned = opts.publicKey.map((text) => {
          const key = parseTrustedKey(text);
          if ("error" in key) throw new InvalidArgumentError(`--public-key ${text}: ${key.error}`);
          return key;
        });
        const report = await fsck(pool, pinned.length > 0 ? pinned : await databaseKeys(pool));
        if (report.ok) {
          console.log(`OK: ${report.events} events, ${report.nodes} stored subtrees, ${report.checkpoints} checkpoints, ${report.streams} streams match a recomputation`);
          if (pinned.length === 0) console.log("note: checkpoint keys were taken from annal.signing_keys; pass --public-key to pin the ledger key you trust");
        } else {
          console.error(`FAILED: ${report.table} (${report.row}): ${report.reason}`);
          process.exitCode = 1;
        }
      } finally {
        await pool.end();
      }
    });

  program
    .command("export")
    .description("write events as NDJSON (header, records, signed checkpoint) that `annal verify --file` checks offline")
    .option("--url <url>", "export from a running Annal")
    .option("--database-url <url>", "export from this PostgreSQL database")
    .option("--from <n>", "first position (default 1)", integer)
    .option("--to <n>", "last position (default: the latest checkpoint)", integer)
    .option("--out <file>", "output file (default stdout)")
    .option("--no-progress", "no progress bar")
    .action(async (opts: { url?: string; databaseUrl?: string; from?: number; to?: number; out?: string; progress: boolean }) => {
      if (!opts.databaseUrl === !opts.url) throw new InvalidArgumentError("give exactly one of --database-url or --url");
      const source = opts.url ? createHttpExportSource(opts.url, authHeaders()) : createDatabaseExportSource(opts.databaseUrl!);
      try {
        const result = await exportLog(source, {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.out ? { out: opts.out } : {}),
          progress: opts.progress && process.stderr.isTTY && opts.out !== undefined,
        });
        console.error(`exported events ${result.from}..${result.to}, ending at the signed checkpoint of size ${result.checkpoint}`);
      } finally {
        await source.close();
      }
    });

  program
    .command("witness")
    .description("run a C2SP tlog-witness that cosigns the checkpoints of the logs it is given")
    .requiredOption("--name <name>", "the witness's key name, e.g. witness.example.org/w1")
    .option("--key <uri>", "its Ed25519 key as a URI: file:, env:, pkcs11:, vault-transit:, awskms: (docs/operations.md, Key management); default $ANNAL_WITNESS_KEY")
    .option("--key-file <path>", "its Ed25519 PKCS#8 PEM key file (created on first run)")
    .requiredOption("--state-dir <dir>", "where it remembers the last cosigned checkpoint of each log")
    .requiredOption("--log <vkey>", "verifier key of a log to witness (its name is the log's origin); repeatable", (v: string, p: string[]) => [...p, v], [])
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port", (v) => Number(v), 7380)
    .action(async (opts: { name: string; key?: string; keyFile?: string; stateDir: string; log: string[]; host: string; port: number }) => {
      const key = opts.key ?? (opts.keyFile === undefined ? process.env.ANNAL_WITNESS_KEY || undefined : undefined);
      const running = await serveWitness({ ...opts, key, logs: opts.log, log: (line) => console.error(JSON.stringify(line)) });
      console.log(`witness listening at ${running.url}; cosigner verifier key: ${running.verifierKey}`);
      const stop = () => void running.close().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
}
