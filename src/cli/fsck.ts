import type pg from "pg";
import { createMerkleAccumulator, equalBytes, keyIdOf, leafHash, toBase64 } from "../core/index.js";
import { verifyCheckpointNote, type TrustedKey } from "../verify/index.js";
import { nodeSha256 } from "../ledger/batch-store.js";
import { REDACTION_EVENT_TYPE, REDACTION_STREAM } from "../ledger/redaction.js";

// Must match the ledger's stored strata: annal.merkle_nodes holds levels 4, 8, 12, ...
const STORED_LEVEL_STRIDE = 4;
const PAGE = 10_000;

export type FsckReport =
  | { ok: true; events: number; nodes: number; checkpoints: number; streams: number }
  | { ok: false; table: string; row: string; reason: string };

/**
 * The operator's check of the state Annal derives from the log and serves from
 * (docs/operations.md): every stored Merkle subtree, the chain head and its frontier, the
 * durable head, every stream head, every checkpoint row's columns against its signed
 * note and a recomputation from the event hashes, and that every missing payload has a
 * redaction record. Stops at the first bad row and names
 * it (table and key). `annal verify` checks the signed data; this checks what the server
 * appends and answers proofs from, which no signature covers.
 *
 * Checkpoint notes verify under `keys` only (pinned keys); without them, under the keys
 * in annal.signing_keys, which is then trust in the database being checked.
 */
export async function fsck(pool: pg.Pool, keys: readonly TrustedKey[]): Promise<FsckReport> {
  const nodes = await storedNodes(pool);
  const checkpoints = await pool.query<{ tree_size: number; root_hash: Buffer; chain_head: Buffer; note: string; key_id: string }>(
    "SELECT tree_size, root_hash, chain_head, note, key_id FROM annal.checkpoints ORDER BY tree_size",
  );
  let nextCheckpoint = 0;
  let nodesChecked = 0;
  let firstBadNode: FsckReport | undefined;
  const tree = createMerkleAccumulator(undefined, (level, index, hash) => {
    if (firstBadNode || level % STORED_LEVEL_STRIDE !== 0) return;
    const key = `${level}/${index}`;
    const stored = nodes.get(key);
    if (!stored) firstBadNode = bad("annal.merkle_nodes", `level=${level}, index=${index}`, "row is missing");
    else if (!equalBytes(stored, hash)) firstBadNode = bad("annal.merkle_nodes", `level=${level}, index=${index}`, "hash differs from the recomputation from annal.events");
    nodes.delete(key);
    nodesChecked++;
  }, nodeSha256);

  let lastHash: Uint8Array | undefined;
  for (let after = 0; ; ) {
    const { rows } = await pool.query<{ position: number; hash: Buffer }>("SELECT position, hash FROM annal.events WHERE position > $1 ORDER BY position LIMIT $2", [after, PAGE]);
    if (rows.length === 0) break;
    for (const row of rows) {
      // bigint columns arrive as strings from a pool without Annal's type parser.
      if (Number(row.position) !== tree.size + 1) return bad("annal.events", `position=${tree.size + 1}`, "row is missing (run annal verify)");
      lastHash = new Uint8Array(row.hash);
      tree.append(leafHash(lastHash));
      if (firstBadNode) return firstBadNode;
      while (nextCheckpoint < checkpoints.rows.length && Number(checkpoints.rows[nextCheckpoint]!.tree_size) === tree.size) {
        const verdict = checkCheckpointRow(checkpoints.rows[nextCheckpoint++]!, tree.root(), lastHash, keys);
        if (verdict) return verdict;
      }
    }
    after = Number(rows[rows.length - 1]!.position);
  }
  if (nextCheckpoint < checkpoints.rows.length) {
    return bad("annal.checkpoints", `tree_size=${checkpoints.rows[nextCheckpoint]!.tree_size}`, `tree size is beyond the log (${tree.size} events)`);
  }
  const extra = [...nodes.keys()][0];
  if (extra !== undefined) return bad("annal.merkle_nodes", `level=${extra.split("/")[0]}, index=${extra.split("/")[1]}`, `row covers leaves beyond the log (${tree.size} events)`);

  const head = (await pool.query<{ position: number; hash: Buffer; frontier: Buffer }>("SELECT position, hash, frontier FROM annal.chain_head WHERE id = 1")).rows[0];
  if (!head) return bad("annal.chain_head", "id=1", "row is missing");
  if (Number(head.position) !== tree.size) return bad("annal.chain_head", "id=1", `position ${head.position}, the log has ${tree.size} events`);
  if (!equalBytes(new Uint8Array(head.hash), lastHash ?? new Uint8Array(32))) return bad("annal.chain_head", "id=1", "hash is not the hash of the last event");
  const frontier = Buffer.concat(tree.frontier().hashes.map((h) => Buffer.from(h)));
  if (!frontier.equals(head.frontier)) return bad("annal.chain_head", "id=1", "frontier differs from the recomputed right edge of the tree");
  const durable = (await pool.query<{ position: number }>("SELECT position FROM annal.durable_head WHERE id = 1")).rows[0];
  if (!durable || Number(durable.position) < 0 || Number(durable.position) > Number(head.position)) return bad("annal.durable_head", "id=1", `position ${durable?.position} is not within 0..${head.position}`);

  // Each stream's head against its last event: the row appends link to and check expected versions against.
  const streams = await pool.query<{ stream_id: string; version: number | null; last_hash: Buffer | null; max_version: number | null; hash: Buffer | null }>(
    `SELECT coalesce(s.stream_id, e.stream_id) AS stream_id, s.version, s.last_hash, e.stream_version AS max_version, e.hash
     FROM annal.streams s
     FULL JOIN (SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash FROM annal.events ORDER BY stream_id, stream_version DESC) e ON e.stream_id = s.stream_id
     WHERE s.stream_id IS NULL OR e.stream_id IS NULL OR s.version <> e.stream_version OR s.last_hash <> e.hash
     ORDER BY 1 LIMIT 1`,
  );
  const stream = streams.rows[0];
  if (stream) {
    const reason =
      stream.version === null ? "row is missing" : stream.max_version === null ? "stream has no events" : Number(stream.version) !== Number(stream.max_version) ? `version ${stream.version}, the stream's last event has version ${stream.max_version}` : "last_hash is not the hash of the stream's last event";
    return bad("annal.streams", `stream_id=${stream.stream_id}`, reason);
  }
  // A payload may only disappear through a redaction, which first records PayloadRedacted
  // naming it (docs/verification.md section 4): a payload deleted any other way is named.
  const unrecorded = await pool.query<{ position: number }>(
    `WITH recorded AS (
       SELECT (rp.data::jsonb ->> 'position')::bigint AS position, r.position AS at
       FROM annal.events r JOIN annal.payloads rp ON rp.position = r.position
       WHERE r.stream_id = $1 AND r.type = $2)
     SELECT e.position FROM annal.events e
       LEFT JOIN annal.payloads p ON p.position = e.position
       LEFT JOIN recorded c ON c.position = e.position AND c.at > e.position
     WHERE p.position IS NULL AND c.position IS NULL
     ORDER BY e.position LIMIT 1`,
    [REDACTION_STREAM, REDACTION_EVENT_TYPE],
  );
  const lost = unrecorded.rows[0];
  if (lost) return bad("annal.payloads", `position=${lost.position}`, `payload is missing and no ${REDACTION_EVENT_TYPE} record in ${REDACTION_STREAM} names it`);
  const streamCount = (await pool.query<{ n: string }>("SELECT count(*) AS n FROM annal.streams")).rows[0]?.n ?? "0";
  return { ok: true, events: tree.size, nodes: nodesChecked, checkpoints: checkpoints.rows.length, streams: Number(streamCount) };
}

function checkCheckpointRow(
  row: { tree_size: number; root_hash: Buffer; chain_head: Buffer; note: string; key_id: string },
  root: Uint8Array,
  lastHash: Uint8Array,
  keys: readonly TrustedKey[],
): FsckReport | undefined {
  const where = `tree_size=${row.tree_size}`;
  const note = verifyCheckpointNote(row.note, keys);
  if (!note.ok) return bad("annal.checkpoints", where, `note: ${note.reason}`);
  if (note.checkpoint.treeSize !== Number(row.tree_size)) return bad("annal.checkpoints", where, `the signed note is for tree size ${note.checkpoint.treeSize}`);
  if (note.checkpoint.rootHash !== toBase64(root)) return bad("annal.checkpoints", where, "the signed root differs from the recomputation from annal.events");
  if (!equalBytes(new Uint8Array(row.root_hash), root)) return bad("annal.checkpoints", where, "root_hash column differs from the signed note");
  if (!equalBytes(new Uint8Array(row.chain_head), lastHash) || note.checkpoint.chainHead !== toBase64(lastHash)) return bad("annal.checkpoints", where, "chain_head differs from the hash of the event at tree_size");
  if (!keys.some((k) => k.keyId === row.key_id)) return bad("annal.checkpoints", where, `key_id ${row.key_id} is not a trusted key`);
  return undefined;
}

async function storedNodes(pool: pg.Pool): Promise<Map<string, Uint8Array>> {
  // One row per 15 events: a log of 10^8 events holds ~7 million, read once here.
  const { rows } = await pool.query<{ level: number; index: string; hash: Buffer }>("SELECT level, index, hash FROM annal.merkle_nodes");
  return new Map(rows.map((r) => [`${r.level}/${r.index}`, new Uint8Array(r.hash)]));
}

function bad(table: string, row: string, reason: string): FsckReport {
  return { ok: false, table, row, reason };
}

/** The keys of annal.signing_keys as trusted keys: trust in the database checked, used only when none is pinned. */
export async function databaseKeys(pool: pg.Pool): Promise<TrustedKey[]> {
  const { rows } = await pool.query<{ public_key: Buffer; note_name: string }>("SELECT public_key, note_name FROM annal.signing_keys");
  return rows.map((r) => ({ name: r.note_name, publicKey: new Uint8Array(r.public_key), keyId: keyIdOf(new Uint8Array(r.public_key)) }));
}
