/**
 * Where an append waits: one timestamp per stage of its way from the socket to the
 * answer, taken only when tracing is on (ANNAL_TRACE_APPENDS=1). The HTTP edge creates
 * the timeline and hands it to the ledger on the request; every stage marks it; the edge
 * turns the gaps between stages into one histogram per stage (see createAppendTracer in
 * src/api/middleware/trace-appends.ts). Off, nothing creates a timeline and each mark is
 * one `undefined` check.
 */
export const APPEND_STAGES = [
  /** The request's headers are parsed and it reaches the first middleware. */
  "received",
  /** The caller is authenticated and allowed to append. */
  "authorised",
  /** The whole body is read from the socket. */
  "bodyRead",
  /** The body is parsed as strict JSON. */
  "parsed",
  /** Parameters, headers and the body passed the route's schema. */
  "validated",
  /** The ledger prepared the events (salt, data hash) and queued the append. */
  "queued",
  /** The sequencer took it into a batch. */
  "taken",
  /** The batch's stream heads and idempotency records are read. */
  "read",
  /** The batch is decided and chained (hashes, Merkle tree): signing starts. */
  "planned",
  /** Events and checkpoint are signed. */
  "signed",
  /** The batch statement returned (in `sync` commit mode: committed and flushed). */
  "written",
  /** The batch is known durable (in `flush` mode, after the WAL flush) and the append is settled. */
  "durable",
  /** The handler has the receipt (the promise continuation ran). */
  "resolved",
  /** The response is built and the middleware chain returned. */
  "answered",
  /** Node only: the response was handed to the socket ('finish'). */
  "sent",
] as const;

export type AppendStage = (typeof APPEND_STAGES)[number];

/** Stage index by name, for marking without a lookup. */
export const STAGE = Object.fromEntries(APPEND_STAGES.map((name, index) => [name, index])) as { readonly [K in AppendStage]: number };

/** One append's timestamps (performance.now(), ms), indexed by STAGE; NaN where a stage was not reached. */
export interface AppendTimeline {
  readonly at: Float64Array;
}

export function createTimeline(): AppendTimeline {
  return { at: new Float64Array(APPEND_STAGES.length).fill(Number.NaN) };
}

/** Stamps `stage` now; does nothing when the append is not traced. */
export function mark(timeline: AppendTimeline | undefined, stage: number): void {
  if (timeline !== undefined) timeline.at[stage] = performance.now();
}

/** Stamps `stage` on every traced append of a batch, with one clock read. */
export function markAll(items: ReadonlyArray<{ request: { timeline?: AppendTimeline | undefined } }>, stage: number): void {
  let now: number | undefined;
  for (const item of items) {
    const timeline = item.request.timeline;
    if (timeline !== undefined) timeline.at[stage] = now ??= performance.now();
  }
}
