import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import cliProgress from "cli-progress";
import { fromBase64, toBase64, type EventRecord } from "../core/index.js";
import type { CheckpointView, PublicKeyInfo } from "../ledger/types.js";
import { createPool } from "../store/postgres/pool.js";
import { createPostgresProofs } from "../store/postgres/proofs.js";
import { createPostgresReader } from "../store/postgres/reader.js";
import { frontierFromInclusionProof } from "../verify/index.js";
import { createJsonClient } from "./http-client.js";

export const EXPORT_FORMAT = "annal-export/v1";

/** The first line of an export. */
export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  from: number;
  to: number;
  /** Roots of the perfect subtrees of the tree of size from - 1, largest first (base64). */
  frontier: string[];
  /** The keys the server published, for convenience: a verifier pins its own. */
  publicKeys: PublicKeyInfo[];
}

/** The last line: the signed checkpoint the events lead to, and (when it is larger) the consistency proof from `to`. */
export interface ExportTrailer {
  checkpoint: CheckpointView;
  consistencyProof: string[];
}

/** What an export reads from: a running Annal or its database. */
export interface ExportSource {
  publicKeys(): Promise<PublicKeyInfo[]>;
  latestCheckpoint(): Promise<CheckpointView | undefined>;
  checkpointAt(treeSize: number): Promise<CheckpointView | undefined>;
  range(from: number, to: number): Promise<EventRecord[]>;
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** A 404 means "there is none"; any other failure (401, 5xx, the network) is reported. */
function notFound(error: Error): undefined {
  if (/answered 404/.test(error.message)) return undefined;
  throw error;
}

export function createHttpExportSource(url: string, headers: Record<string, string> = {}, fetchImpl: typeof fetch = fetch): ExportSource {
  const client = createJsonClient(url, fetchImpl, headers);
  const decode = (list: string[]) => list.map((h) => fromBase64(h)!);
  return {
    publicKeys: async () => (await client.get<{ keys: PublicKeyInfo[] }>("/keys")).keys,
    latestCheckpoint: () => client.get<CheckpointView>("/checkpoints/latest").catch(notFound),
    checkpointAt: (size) => client.get<CheckpointView>(`/checkpoints?treeSize=${size}`).catch(notFound),
    async range(from, to) {
      const page = await client.get<{ events: EventRecord[] }>(`/events?fromPosition=${from}&limit=${to - from + 1}`);
      return page.events;
    },
    inclusionProof: async (leafIndex, treeSize) => decode((await client.get<{ auditPath: string[] }>(`/proofs/inclusion?position=${leafIndex + 1}&treeSize=${treeSize}`)).auditPath),
    consistencyProof: async (from, to) => decode((await client.get<{ path: string[] }>(`/proofs/consistency?from=${from}&to=${to}`)).path),
    close: () => Promise.resolve(),
  };
}

export function createDatabaseExportSource(databaseUrl: string): ExportSource {
  const pool = createPool({ connectionString: databaseUrl, max: 2, applicationName: "annal-export" });
  const reader = createPostgresReader(pool, { maxLimit: 10_000 });
  const proofs = createPostgresProofs(pool);
  return {
    publicKeys: () => reader.publicKeys(),
    latestCheckpoint: () => reader.latestCheckpoint(),
    checkpointAt: (size) => proofs.checkpointAt(size),
    range: (from, to) => reader.readRange(from, to),
    inclusionProof: (leafIndex, treeSize) => proofs.inclusionProof(leafIndex, treeSize),
    consistencyProof: (from, to) => proofs.consistencyProof(from, to),
    close: () => pool.end(),
  };
}

export interface ExportOptions {
  from?: number;
  to?: number;
  /** A file (written to a temp file and renamed when complete); stdout when absent. */
  out?: string;
  pageSize?: number;
  progress?: boolean;
}

/**
 * Writes events [from, to] as NDJSON: a header, one record per line, and a trailer with
 * the signed checkpoint of size `to` (or the latest one and the consistency proof from
 * `to` to it). The file verifies offline with `annal verify --file`.
 */
export async function exportLog(source: ExportSource, options: ExportOptions = {}): Promise<{ from: number; to: number; checkpoint: number }> {
  const latest = await source.latestCheckpoint();
  if (!latest) throw new Error("the log has no checkpoint yet: nothing to export");
  const from = options.from ?? 1;
  const to = options.to ?? latest.treeSize;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) throw new Error(`need 1 <= --from <= --to, got ${from} and ${to}`);
  if (to > latest.treeSize) throw new Error(`--to ${to} is beyond the latest checkpoint (${latest.treeSize})`);
  // Pin the end checkpoint first: every proof below is against it, however the log grows meanwhile.
  const checkpoint = to === latest.treeSize ? latest : ((await source.checkpointAt(to)) ?? latest);
  const consistencyProof = checkpoint.treeSize === to ? [] : (await source.consistencyProof(to, checkpoint.treeSize)).map(toBase64);
  const frontier = from === 1 ? [] : frontierFromInclusionProof(from - 1, checkpoint.treeSize, await source.inclusionProof(from - 1, checkpoint.treeSize)).map(toBase64);
  const header: ExportHeader = { format: EXPORT_FORMAT, from, to, frontier, publicKeys: await source.publicKeys() };

  // A file is written beside its target and renamed when complete, so a half-written
  // export never carries the final name.
  const temp = options.out ? join(dirname(options.out), `.${basename(options.out)}.${process.pid}.tmp`) : undefined;
  const sink: NodeJS.WritableStream = temp ? createWriteStream(temp, { flags: "wx", mode: 0o644 }) : process.stdout;
  const write = async (line: string) => {
    if (!sink.write(`${line}\n`)) await once(sink, "drain");
  };
  const bar = options.progress ? new cliProgress.SingleBar({ format: "export [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(to - from + 1, 0);
  try {
    await write(JSON.stringify(header));
    const pageSize = options.pageSize ?? 1000;
    for (let at = from; at <= to; ) {
      const page = await source.range(at, Math.min(to, at + pageSize - 1));
      if (page.length === 0) throw new Error(`the source has no event at position ${at}`);
      for (const record of page) await write(JSON.stringify(record));
      at = page[page.length - 1]!.position + 1;
      bar?.update(at - from);
    }
    const trailer: ExportTrailer = { checkpoint: { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, note: checkpoint.note }, consistencyProof };
    await write(JSON.stringify(trailer));
  } catch (error) {
    if (temp) {
      sink.end();
      await rm(temp, { force: true });
    }
    throw error;
  } finally {
    bar?.stop();
  }
  if (temp && options.out) {
    sink.end();
    await once(sink, "finish");
    const handle = await open(temp, "r+");
    await handle.sync().finally(() => handle.close());
    await rename(temp, options.out);
  }
  return { from, to, checkpoint: checkpoint.treeSize };
}

