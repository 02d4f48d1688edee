// A worker thread of `annal verify`: reads ranges of the log from PostgreSQL over its own
// connection (binary COPY) and checks them with createRangeChecker. Started by
// verify-range-workers.ts; one job at a time in order, the next one's COPY queued behind.
import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";
import { copyBinaryRows } from "../store/postgres/copy-out.js";
import { createEventSignatureCheck } from "./event-signature.js";
import { createNodeVerifier } from "./node-verifier.js";
import { createRangeChecker, rangeQuery, sha256Text, type RangeJob, type RangeResult } from "./verify-range.js";

export interface RangeWorkerData {
  databaseUrl: string;
  /** Trusted event keys by key id; absent for --fast (no event signatures). */
  keys?: Array<[string, Uint8Array]>;
}

const data = (workerData as { data: RangeWorkerData }).data;
const port = parentPort!;
const client = new pg.Client({ connectionString: data.databaseUrl, application_name: "annal-verify" });
const connected = client.connect();
const checkSignature = data.keys ? createEventSignatureCheck(new Map(data.keys), createNodeVerifier()) : undefined;
let queue: Promise<unknown> = connected;

async function run(job: RangeJob): Promise<RangeResult> {
  await connected;
  const checker = createRangeChecker(job, { hashText: sha256Text, ...(checkSignature ? { checkSignature } : {}) });
  await copyBinaryRows(client, rangeQuery(job.from, job.to, checkSignature !== undefined), checker.columns, (row) => checker.push(row));
  let nextSeen: number | undefined;
  if (!checker.failed && checker.expected <= job.to) {
    // A short range: a gap or the log's end. The first stored position after it says which.
    const { rows } = await client.query<{ p: string | null }>("SELECT min(position)::text AS p FROM annal.events WHERE position > $1", [checker.expected]);
    if (rows[0]?.p != null) nextSeen = Number(rows[0].p);
  }
  return checker.finish(nextSeen);
}

port.on("message", (message: { job?: RangeJob; close?: true }) => {
  if (message.close) {
    queue = queue.then(() => client.end()).finally(() => port.close());
    return;
  }
  const job = message.job!;
  const result = run(job);
  queue = queue.then(() =>
    result.then(
      (r) => port.postMessage({ id: job.id, result: r }),
      (error: Error) => port.postMessage({ id: job.id, error: error.message }),
    ),
  );
});
