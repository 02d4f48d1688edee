import type pg from "pg";
import { LedgerError } from "../core/index.js";
import type { FollowerCursor } from "./contiguity.js";

type Queryable = Pick<pg.ClientBase, "query">;

/**
 * annal.followers, the cursor rows. Every write by an owner names the epoch it won;
 * a row whose epoch has moved on answers ERR_FENCED.
 */

/** Creates the row if absent, bumps the epoch and claims it. MUST run while holding the name's advisory lock. */
export async function claimCursor(db: Queryable, name: string, owner: string): Promise<{ epoch: number; cursor: FollowerCursor; status: string }> {
  await db.query("INSERT INTO annal.followers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", [name]);
  const { rows } = await db.query<{ epoch: number; position: number; last_hash: Buffer; previous: string }>(
    `UPDATE annal.followers f SET epoch = f.epoch + 1, owner = $2, status = 'running', heartbeat_at = now(), updated_at = now()
     FROM (SELECT status FROM annal.followers WHERE name = $1) AS old
     WHERE f.name = $1 RETURNING f.epoch, f.position, f.last_hash, old.status AS previous`,
    [name, owner],
  );
  const row = rows[0]!;
  return { epoch: row.epoch, cursor: { position: row.position, hash: row.last_hash.toString("base64") }, status: row.previous };
}

/**
 * Moves the cursor from `from` to `to` as a compare-and-set on (epoch, position). Run it
 * in the transaction of the batch's effect, so both commit or neither does.
 */
export async function advanceCursorRow(db: Queryable, name: string, epoch: number, from: FollowerCursor, to: FollowerCursor): Promise<void> {
  const result = await db.query(
    `UPDATE annal.followers SET position = $4, last_hash = $5, heartbeat_at = now(), progressed_at = now(), updated_at = now(),
       error_code = NULL, error_message = NULL, error_position = NULL, status = 'running'
     WHERE name = $1 AND epoch = $2 AND position = $3`,
    [name, epoch, from.position, to.position, Buffer.from(to.hash, "base64")],
  );
  if (result.rowCount !== 1) {
    const { rows } = await db.query<{ epoch: number; position: number }>("SELECT epoch, position FROM annal.followers WHERE name = $1", [name]);
    if (rows[0]?.epoch === epoch) {
      // Still ours, but the cursor moved: inline work in an append transaction got there first.
      throw new LedgerError("ERR_CONFLICT", `follower ${name}: the cursor moved from ${from.position} to ${rows[0].position} under this batch; it is read again`, {
        retriable: true,
        details: { follower: name, position: from.position + 1 },
      });
    }
    throw fenced(name, epoch, from.position + 1);
  }
}

/** The cursor as stored, for a follower whose cursor other work may move (inline projections). */
export async function readCursorRow(db: Queryable, name: string, epoch: number): Promise<FollowerCursor> {
  const { rows } = await db.query<{ position: number; last_hash: Buffer }>("SELECT position, last_hash FROM annal.followers WHERE name = $1 AND epoch = $2", [name, epoch]);
  const row = rows[0];
  if (row === undefined) throw fenced(name, epoch);
  return { position: row.position, hash: row.last_hash.toString("base64") };
}

/** The owner's loop is alive. Answers whether an operator has paused the follower. */
export async function beat(db: Queryable, name: string, epoch: number): Promise<{ paused: boolean }> {
  const { rows } = await db.query<{ paused: boolean }>("UPDATE annal.followers SET heartbeat_at = now() WHERE name = $1 AND epoch = $2 RETURNING paused", [name, epoch]);
  const row = rows[0];
  if (row === undefined) throw fenced(name, epoch);
  return { paused: row.paused };
}

/** Records why the follower stopped, at which position. Fenced like every owner write. */
export async function recordFailure(db: Queryable, name: string, epoch: number, error: { code: string; message: string; position: number | undefined }): Promise<void> {
  await db.query(
    `UPDATE annal.followers SET status = 'failed', error_code = $3, error_message = $4, error_position = $5, heartbeat_at = now(), updated_at = now()
     WHERE name = $1 AND epoch = $2`,
    [name, epoch, error.code, error.message.slice(0, 2000), error.position ?? null],
  );
}

/** The owner let go cleanly (shutdown): others may take over at once. */
export async function recordStopped(db: Queryable, name: string, epoch: number): Promise<void> {
  await db.query("UPDATE annal.followers SET status = 'stopped', updated_at = now() WHERE name = $1 AND epoch = $2 AND status = 'running'", [name, epoch]);
}

export async function setPaused(db: Queryable, name: string, paused: boolean): Promise<boolean> {
  const result = await db.query("UPDATE annal.followers SET paused = $2, updated_at = now() WHERE name = $1", [name, paused]);
  return result.rowCount === 1;
}

export function fenced(name: string, epoch: number, position?: number): LedgerError {
  return new LedgerError("ERR_FENCED", `follower ${name}: epoch ${epoch} was fenced out (another instance owns it now); the write was refused`, {
    details: { follower: name, epoch, ...(position === undefined ? {} : { position }) },
  });
}
