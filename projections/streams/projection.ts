import { defineProjection } from "../../src/projector/index.js";

/**
 * The stream catalogue behind `GET /streams`: for each stream its version, event count,
 * first and last position and time. One statement per batch; idempotent because an
 * event counts only if its position is past the stream's last_position.
 */
export default defineProjection({
  name: "streams",
  version: 1,
  // Positions, versions and times only: no payloads to read.
  payloads: false,
  async applyBatch(events, db) {
    await db.query(
      `WITH ev (stream_id, version, position, recorded_at) AS (
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])
       ), fresh AS (
         SELECT ev.* FROM ev LEFT JOIN streams s ON s.stream_id = ev.stream_id
         WHERE s.stream_id IS NULL OR ev.position > s.last_position
       ), agg AS (
         SELECT stream_id, max(version) AS version, count(*) AS n, min(position) AS first_position, max(position) AS last_position,
                (array_agg(recorded_at ORDER BY position))[1] AS first_at, (array_agg(recorded_at ORDER BY position DESC))[1] AS last_at
         FROM fresh GROUP BY stream_id
       )
       INSERT INTO streams AS s (stream_id, version, event_count, first_position, last_position, first_recorded_at, last_recorded_at)
       SELECT stream_id, version, n, first_position, last_position, first_at, last_at FROM agg
       ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, event_count = s.event_count + EXCLUDED.event_count,
         last_position = EXCLUDED.last_position, last_recorded_at = EXCLUDED.last_recorded_at`,
      [events.map((e) => e.streamId), events.map((e) => e.streamVersion), events.map((e) => e.position), events.map((e) => e.recordedAt)],
    );
  },
});
