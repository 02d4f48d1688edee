import type pg from "pg";
import type { EventRecord } from "../core/index.js";
import { DURABLE_POSITION, EVENT_COLUMNS, EVENTS_FROM, recordFromRow, type EventRow } from "../store/postgres/rows.js";

/**
 * Up to `limit` committed events after `position`, in position order, never past the
 * durable head: a follower must not act on an event a database crash could take back.
 */
export async function readCommittedAfter(pool: Pick<pg.Pool, "query">, position: number, limit: number): Promise<EventRecord[]> {
  const { rows } = await pool.query<EventRow>({
    name: "annal_follower_read",
    text: `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.position > $1 AND e.position <= ${DURABLE_POSITION} ORDER BY e.position LIMIT $2`,
    values: [position, limit],
  });
  return rows.map(recordFromRow);
}
