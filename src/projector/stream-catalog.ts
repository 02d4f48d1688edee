import type pg from "pg";

export interface StreamEntry {
  streamId: string;
  version: number;
  eventCount: number;
  firstPosition: number;
  lastPosition: number;
  firstRecordedAt: string;
  lastRecordedAt: string;
}

export interface StreamQuery {
  /** Only ids starting with this. */
  prefix?: string;
  /** Page after this id (the previous page's `next`). */
  after?: string;
  limit: number;
  /** RBAC stream patterns (`*` globs) the caller may read; `["*"]` for all. */
  patterns: readonly string[];
}

/** Reads of the `streams` projection's stable view (projection_streams.streams). */
export function createStreamCatalog(pool: Pick<pg.Pool, "query">): { list(query: StreamQuery): Promise<{ streams: StreamEntry[]; next: string | null }> } {
  return {
    async list({ prefix, after, limit, patterns }) {
      const all = patterns.includes("*");
      const { rows } = await pool.query<{
        stream_id: string;
        version: number;
        event_count: number;
        first_position: number;
        last_position: number;
        first_recorded_at: string;
        last_recorded_at: string;
      }>(
        `SELECT stream_id, version, event_count, first_position, last_position, first_recorded_at, last_recorded_at
         FROM projection_streams.streams
         WHERE ($1::text IS NULL OR (stream_id >= $1 AND left(stream_id, length($1)) = $1))
           AND ($2::text IS NULL OR stream_id > $2)
           AND ($3::boolean OR stream_id LIKE ANY ($4::text[]))
         ORDER BY stream_id LIMIT $5`,
        [prefix ?? null, after ?? null, all, all ? [] : patterns.map(likePattern), limit + 1],
      );
      const page = rows.slice(0, limit);
      return {
        streams: page.map((r) => ({
          streamId: r.stream_id,
          version: r.version,
          eventCount: r.event_count,
          firstPosition: r.first_position,
          lastPosition: r.last_position,
          firstRecordedAt: r.first_recorded_at,
          lastRecordedAt: r.last_recorded_at,
        })),
        next: rows.length > limit ? page[page.length - 1]!.stream_id : null,
      };
    },
  };
}

/** An RBAC glob (`payments-*`) as a LIKE pattern: LIKE's own wildcards escaped, `*` as `%`. */
export function likePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%");
}
