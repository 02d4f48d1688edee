import type { HttpBindings } from "@hono/node-server";
import type { MiddlewareHandler } from "hono";
import { Histogram, type Registry } from "prom-client";
import { APPEND_STAGES, createTimeline, mark, STAGE, type AppendTimeline } from "../../ledger/append-trace.js";
import type { AppEnv } from "../context.js";

// From 50 µs to 5 s: a stage of a few microseconds and a request that waits a second
// both land in a bucket of their own.
const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 5];

/**
 * Where appends wait (ANNAL_TRACE_APPENDS=1): gives every request a timeline, which the
 * edge and the ledger stamp at each stage (ledger/append-trace.ts), and records each
 * append's gaps in `annal_append_stage_seconds{stage}`: the time from the stage before
 * to this one (`total`: from received to sent). A histogram per stage, not a log line per
 * request, so it can stay on under load. Requests that never reached the ledger are not
 * recorded. Runs first, so `received` is the earliest the application sees a request.
 */
export function traceAppends(registry: Registry): MiddlewareHandler<AppEnv> {
  const histogram =
    (registry.getSingleMetric("annal_append_stage_seconds") as Histogram<"stage"> | undefined) ??
    new Histogram({
      name: "annal_append_stage_seconds",
      help: "Append timeline (ANNAL_TRACE_APPENDS=1): seconds from the previous stage reached to this one; total: received to sent.",
      labelNames: ["stage"],
      buckets: BUCKETS,
      registers: [registry],
    });
  const stages = APPEND_STAGES.map((stage) => histogram.labels(stage));
  const total = histogram.labels("total");

  function record(timeline: AppendTimeline): void {
    const at = timeline.at;
    let previous = at[STAGE.received]!;
    for (let i = 1; i < at.length; i++) {
      const t = at[i]!;
      if (Number.isNaN(t)) continue;
      stages[i]!.observe((t - previous) / 1000);
      previous = t;
    }
    total.observe((previous - at[STAGE.received]!) / 1000);
  }

  return async function traceAppends(c, next) {
    const timeline = createTimeline();
    mark(timeline, STAGE.received);
    c.set("timeline", timeline);
    await next();
    mark(timeline, STAGE.answered);
    if (Number.isNaN(timeline.at[STAGE.queued]!)) return;
    // Under Node the adapter writes the response after this returns: 'finish' is when
    // the last byte went to the socket. Bun has no such event; its answer ends here.
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing === undefined) return record(timeline);
    outgoing.once("finish", () => {
      mark(timeline, STAGE.sent);
      record(timeline);
    });
  };
}
