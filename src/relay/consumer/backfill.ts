import type { EventRecord } from "../../core/index.js";

/** Where the consumer fetches events Kafka lost: the Annal HTTP API (GET /events). Never trusted: every event is verified. */
export interface BackfillSource {
  /** Events from `from` to `to` inclusive, in position order (fewer if the log has fewer). */
  range(from: number, to: number): Promise<EventRecord[]>;
}

/**
 * Reads `GET /events?fromPosition=&limit=` of a running Annal with an optional bearer
 * token (a reader's or auditor's).
 */
export function createHttpBackfill(baseUrl: string, options: { token?: string; fetch?: typeof fetch } = {}): BackfillSource {
  const base = baseUrl.replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return {
    async range(from, to) {
      const out: EventRecord[] = [];
      let next = from;
      while (next <= to) {
        const limit = Math.min(1000, to - next + 1);
        const response = await doFetch(`${base}/events?fromPosition=${next}&limit=${limit}`, { headers });
        if (!response.ok) throw new Error(`GET /events?fromPosition=${next} answered ${response.status}`);
        const body = (await response.json()) as { events?: EventRecord[] };
        const events = body.events ?? [];
        if (events.length === 0) break;
        out.push(...events.filter((e) => e.position <= to));
        next = events[events.length - 1]!.position + 1;
      }
      return out;
    },
  };
}
