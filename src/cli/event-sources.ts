import type { EventRecord, StoredCanonical } from "../core/index.js";
import { parseVerifierKey } from "../core/index.js";
import { createPool } from "../store/postgres/pool.js";
import { authHeaders, createJsonClient } from "./http-client.js";
import { createPostgresReader } from "../store/postgres/reader.js";
import type { CheckpointView, PublicKeyInfo } from "../ledger/types.js";

export interface SourcedRecord {
  record: EventRecord;
  stored?: StoredCanonical;
}

/** Where `annal verify` reads a log from: a database or a running server. */
export interface EventSource {
  describe: string;
  /** Set for a database source: `annal verify` then reads it in parallel ranges (verify-ranges.ts). */
  databaseUrl?: string;
  publicKeys(): Promise<PublicKeyInfo[]>;
  /** Total events, to size the progress bar. */
  size(): Promise<number>;
  /** Pages of consecutive records from position 1 (with the stored canonical texts, when the source has them). */
  pages(pageSize: number): AsyncIterable<SourcedRecord[]>;
  /** Checkpoints to check, ascending by tree size. */
  checkpoints(maxSize: number): Promise<CheckpointView[]>;
  close(): Promise<void>;
}

export function createDatabaseSource(databaseUrl: string): EventSource {
  const pool = createPool({ connectionString: databaseUrl, max: 2, applicationName: "annal-verify" });
  const reader = createPostgresReader(pool, { maxLimit: 10_000 });
  return {
    describe: "database",
    databaseUrl,
    publicKeys: () => reader.publicKeys(),
    async size() {
      // The furthest of the last row, the chain head and the newest checkpoint: a row
      // deleted from the end must show up as missing, not as a shorter log.
      const { rows } = await pool.query<{ n: number | null }>(
        `SELECT greatest((SELECT max(position) FROM annal.events), (SELECT max(tree_size) FROM annal.checkpoints),
                         (SELECT position FROM annal.chain_head WHERE id = 1))::bigint AS n`,
      );
      return rows[0]?.n ?? 0;
    },
    async *pages(pageSize) {
      // Keyset pagination on position, one query a page: a missing row appears as a gap
      // the verifier names.
      let after = 0;
      for (;;) {
        const page = await reader.readAfter(after, pageSize);
        if (page.length === 0) return;
        yield page;
        after = page[page.length - 1]!.record.position;
      }
    },
    checkpoints: (maxSize) => reader.checkpointsUpTo(maxSize),
    close: () => pool.end(),
  };
}

export function createHttpSource(baseUrl: string, fetchImpl: typeof fetch = fetch, headers: Record<string, string> = authHeaders()): EventSource {
  const client = createJsonClient(baseUrl, fetchImpl, headers);
  const base = client.base;
  async function get<T>(path: string): Promise<T> {
    return client.get<T>(path).catch((error: Error) => {
      // The log and its checkpoints need `audit:read` or `events:read` on every stream.
      if (/answered 40[13]/.test(error.message)) throw new Error(`${error.message}\n(set ANNAL_TOKEN to an auditor's access token: see the start-up banner or docs/api.md)`, { cause: error });
      throw error;
    });
  }
  // Fetched once: the size verified and the checkpoint checked must be the same one,
  // even if the log grows meanwhile. A log with no checkpoint yet is empty (404).
  let latestCheckpoint: Promise<CheckpointView | undefined> | undefined;
  const latest = () =>
    (latestCheckpoint ??= get<CheckpointView>("/checkpoints/latest").catch((error: Error) => {
      if (/answered 404/.test(error.message)) return undefined;
      throw error;
    }));
  return {
    describe: base,
    publicKeys: async () => (await get<{ keys: PublicKeyInfo[] }>("/keys")).keys,
    async size() {
      return (await latest())?.treeSize ?? 0;
    },
    async *pages(pageSize) {
      let from = 1;
      for (;;) {
        const page = await get<{ events: EventRecord[] }>(`/events?fromPosition=${from}&limit=${pageSize}`);
        if (page.events.length === 0) return;
        yield page.events.map((record) => ({ record }));
        from = page.events[page.events.length - 1]!.position + 1;
      }
    },
    async checkpoints(maxSize) {
      // Every checkpoint up to the size verified, through the paged listing
      // (docs/verification.md section 11.4): the root at each one is checked.
      const all: CheckpointView[] = [];
      for (let from = 1; from <= maxSize; ) {
        const page = await get<{ checkpoints: CheckpointView[]; nextTreeSize: number }>(`/checkpoints?fromTreeSize=${from}&limit=1000`);
        all.push(...page.checkpoints.filter((c) => c.treeSize <= maxSize));
        if (page.checkpoints.length < 1000) break;
        from = page.nextTreeSize;
      }
      return all;
    },
    close: () => Promise.resolve(),
  };
}

/** Parses --public-key values: a C2SP verifier key (name+hash+base64) or a raw base64 Ed25519 key. */
export function parsePinnedKey(value: string): Uint8Array {
  const vkey = parseVerifierKey(value);
  if (vkey) return vkey.publicKey;
  const raw = Buffer.from(value, "base64");
  if (raw.length !== 32 || raw.toString("base64") !== value) throw new Error(`--public-key ${value} is neither a verifier key nor 32 bytes of base64`);
  return new Uint8Array(raw);
}
