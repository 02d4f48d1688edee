// One verification worker of verify-bench.ts: loads its slice of the log before the
// clock starts, then recomputes every data hash and event hash (node:crypto SHA-256 over
// the canonical bytes) and, in full mode, checks every Ed25519 signature (OpenSSL).
import { createPublicKey, hash as digest, verify, type KeyObject } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { isCanonicalSignature, type EventRecord } from "../../src/core/index.js";
import { createPool } from "../../src/store/postgres/pool.js";
import { createPostgresReader } from "../../src/store/postgres/reader.js";

interface Job {
  databaseUrl: string;
  from: number;
  to: number;
  full: boolean;
  /** keyId -> raw public key, base64. */
  keys: Record<string, string>;
}

const job = workerData as Job;
const DATA_TAG = Buffer.from("annal/data/v1\0");
let scratch = Buffer.alloc(64 * 1024);
DATA_TAG.copy(scratch, 0);
const EVENT_TAG = "annal/event/v1\0";

// A lean RFC 8785 serializer for values that came out of JSON.parse (so already I-JSON
// in shape): sorted keys (UTF-16 order, as Array.prototype.sort), ECMAScript string and
// number forms. Sound for verification whatever its flaws: bytes that differ from the
// canonical ones give another SHA-256 and fail the comparison; they cannot pass it.
function canon(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) s += (i ? "," : "") + canon(v[i]);
    return `${s}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let s = "{";
  for (let i = 0; i < keys.length; i++) s += `${i ? "," : ""}${JSON.stringify(keys[i])}:${canon(o[keys[i]!])}`;
  return `${s}}`;
}

/** The canonical header (event-record.ts eventHeaderJson) with its members in sorted order. */
function headerJson(r: EventRecord): string {
  const q = JSON.stringify;
  return `{"dataHash":${q(r.dataHash)},"eventId":${q(r.eventId)},"keyId":${q(r.keyId)},"metadata":${canon(r.metadata)},"position":${r.position},"prevHash":${q(r.prevHash)},"recordedAt":${q(r.recordedAt)},"streamId":${q(r.streamId)},"streamPrevHash":${q(r.streamPrevHash)},"streamVersion":${r.streamVersion},"type":${q(r.type)},"v":1}`;
}

async function load(): Promise<EventRecord[]> {
  const pool = createPool({ connectionString: job.databaseUrl, max: 1, applicationName: "annal-verify-bench" });
  const reader = createPostgresReader(pool, { maxLimit: 50_000 });
  const records: EventRecord[] = [];
  try {
    for (let at = job.from; at <= job.to; at += 50_000) records.push(...(await reader.readRange(at, Math.min(job.to, at + 49_999))));
  } finally {
    await pool.end();
  }
  return records;
}

function check(records: EventRecord[]): { ok: boolean; position?: number; reason?: string } {
  const keys = new Map<string, KeyObject>();
  for (const [id, raw] of Object.entries(job.keys)) keys.set(id, createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw, "base64").toString("base64url") }, format: "jwk" }));
  for (const r of records) {
    if (r.data !== undefined) {
      // tag || salt || canonical data, written into one reused buffer: allocations, not
      // SHA-256, dominate at these sizes.
      const text = canon(r.data);
      if (scratch.length < 46 + text.length * 3) {
        scratch = Buffer.alloc(46 + text.length * 3);
        DATA_TAG.copy(scratch, 0);
      }
      if (scratch.write(r.dataSalt!, 14, "base64") !== 32) return { ok: false, position: r.position, reason: "salt" };
      const end = 46 + scratch.write(text, 46, "utf8");
      const dataHash = digest("sha256", scratch.subarray(0, end), "base64");
      if (dataHash !== r.dataHash) return { ok: false, position: r.position, reason: "data hash" };
    }
    if (!job.full) {
      if (digest("sha256", EVENT_TAG + headerJson(r), "base64") !== r.hash) return { ok: false, position: r.position, reason: "event hash" };
      continue;
    }
    const hash = digest("sha256", EVENT_TAG + headerJson(r), "buffer");
    if (hash.toString("base64") !== r.hash) return { ok: false, position: r.position, reason: "event hash" };
    {
      const key = keys.get(r.keyId);
      const signature = Buffer.from(r.signature, "base64");
      if (!key || !isCanonicalSignature(signature) || !verify(null, hash, key, signature)) return { ok: false, position: r.position, reason: "signature" };
    }
  }
  return { ok: true };
}

const records = await load();
parentPort!.postMessage({ type: "ready", count: records.length });
parentPort!.once("message", () => {
  const started = performance.now();
  const verdict = check(records);
  parentPort!.postMessage({ type: "done", ms: performance.now() - started, ...verdict });
});
