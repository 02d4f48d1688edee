import type pg from "pg";
import type { EventRecord } from "../core/index.js";
import { DURABLE_POSITION, ENCODED_EVENT_COLUMNS, ENCODED_HEADER_COLUMNS, EVENTS_FROM, recordFromEncodedRow, type EncodedEventRow } from "../store/postgres/rows.js";

/**
 * Up to `limit` committed events after `position`, in position order, never past the
 * durable head: a follower must not act on an event a database crash could take back.
 */
export async function readCommittedAfter(pool: Pick<pg.Pool, "query">, position: number, limit: number, options: { payloads?: boolean } = {}): Promise<EventRecord[]> {
  if (options.payloads === false) {
    // Headers only: no payload join, no data to parse (a follower that never reads `data`).
    const { rows } = await pool.query<EncodedEventRow>({
      name: "annal_follower_read_headers",
      text: `SELECT ${ENCODED_HEADER_COLUMNS} FROM annal.events e WHERE e.position > $1 AND e.position <= ${DURABLE_POSITION} ORDER BY e.position LIMIT $2`,
      values: [position, limit],
    });
    return rows.map((row) => recordFromEncodedRow(row, false));
  }
  const { rows } = await pool.query<EncodedEventRow>({
    name: "annal_follower_read",
    text: `SELECT ${ENCODED_EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.position > $1 AND e.position <= ${DURABLE_POSITION} ORDER BY e.position LIMIT $2`,
    values: [position, limit],
  });
  return rows.map((row) => recordFromEncodedRow(row));
}
