import type pg from "pg";

export interface FollowerStatus {
  name: string;
  /** `running` | `stopped` | `failed` | `idle`, and `paused` when an operator paused it. */
  status: string;
  paused: boolean;
  owner: string | null;
  epoch: number;
  position: number;
  /** The durable end of the log. */
  headPosition: number;
  lagEvents: number;
  /** Age of the oldest event not yet handled (0 when caught up). */
  lagSeconds: number;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  progressedAt: string | null;
  /** Running, not paused, beating within `staleAfterSeconds`: a dead loop can not look healthy. */
  healthy: boolean;
  error: { code: string; message: string; position: number | null } | null;
}

interface StatusRow {
  name: string;
  status: string;
  paused: boolean;
  owner: string | null;
  epoch: number;
  position: number;
  head: number;
  heartbeat_at: Date | null;
  heartbeat_age: number | null;
  progressed_at: Date | null;
  lag_seconds: number | null;
  error_code: string | null;
  error_message: string | null;
  error_position: number | null;
}

/** Status of followers by name (all when `names` is undefined), from the database: what every instance sees. */
export async function readFollowerStatus(db: Pick<pg.Pool, "query">, names?: readonly string[], staleAfterSeconds = 10): Promise<FollowerStatus[]> {
  const { rows } = await db.query<StatusRow>(
    `SELECT f.name, f.status, f.paused, f.owner, f.epoch, f.position, d.position AS head, f.heartbeat_at, f.progressed_at,
            extract(epoch FROM now() - f.heartbeat_at)::float8 AS heartbeat_age,
            (SELECT extract(epoch FROM now() - e.recorded_at::timestamptz)::float8 FROM annal.events e WHERE e.position = f.position + 1 AND e.position <= d.position) AS lag_seconds,
            f.error_code, f.error_message, f.error_position
     FROM annal.followers f CROSS JOIN annal.durable_head d
     WHERE $1::text[] IS NULL OR f.name = ANY($1::text[]) ORDER BY f.name`,
    [names ?? null],
  );
  return rows.map((r) => {
    const heartbeatAge = r.heartbeat_age === null ? null : Math.max(0, r.heartbeat_age);
    return {
      name: r.name,
      status: r.paused && r.status === "running" ? "paused" : r.status,
      paused: r.paused,
      owner: r.owner,
      epoch: r.epoch,
      position: r.position,
      headPosition: r.head,
      lagEvents: Math.max(0, r.head - r.position),
      lagSeconds: Math.max(0, r.lag_seconds ?? 0),
      heartbeatAt: r.heartbeat_at?.toISOString() ?? null,
      heartbeatAgeSeconds: heartbeatAge,
      progressedAt: r.progressed_at?.toISOString() ?? null,
      healthy: r.status === "running" && !r.paused && heartbeatAge !== null && heartbeatAge <= staleAfterSeconds,
      error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? "", position: r.error_position },
    };
  });
}
