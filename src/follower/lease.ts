import type pg from "pg";
import type { FollowerCursor } from "./contiguity.js";
import { claimCursor, recordStopped } from "./cursor-store.js";

// A 64-bit advisory lock key per follower name (a 32-bit hashtext could make two names
// exclude each other forever).
const LOCK_KEY = "('x' || left(md5('annal.follower:' || $1), 16))::bit(64)::bigint";

/** The right to run one follower, held by a session-level advisory lock on a dedicated connection. */
export interface Lease {
  readonly name: string;
  /** Fencing token: every cursor write of this owner is conditional on it. */
  readonly epoch: number;
  /** The cursor as it was when the lease was won. */
  readonly cursor: FollowerCursor;
  /** The row's status before this owner claimed it (`failed`: the last owner stopped on an error). */
  readonly previousStatus: string;
  /** The lock's own connection; heartbeats run on it, so a beat proves the lock is still held. */
  readonly client: pg.Client;
  /** False once the lock connection is gone: PostgreSQL has released the lock, another instance may own it. */
  readonly alive: boolean;
  /** Resolves when the lock connection ends or fails. */
  readonly lost: Promise<void>;
  release(): Promise<void>;
}

/**
 * Tries once to take the lease of `name`: undefined if another session holds it. On
 * success the epoch is bumped, fencing out every earlier owner.
 */
export async function tryAcquireLease(connect: () => pg.Client, name: string, owner: string): Promise<Lease | undefined> {
  const client = connect();
  let alive = true;
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const onGone = () => {
    alive = false;
    markLost();
  };
  client.on("error", onGone);
  client.on("end", onGone);
  try {
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`, [name]);
    if (rows[0]?.locked !== true) {
      await client.end();
      return undefined;
    }
    const claimed = await claimCursor(client, name, owner);
    return {
      name,
      epoch: claimed.epoch,
      cursor: claimed.cursor,
      previousStatus: claimed.status,
      client,
      get alive() {
        return alive;
      },
      lost,
      async release() {
        if (!alive) return;
        try {
          await recordStopped(client, name, claimed.epoch);
        } finally {
          // Ending the session releases the advisory lock.
          await client.end().catch(() => undefined);
        }
      },
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
