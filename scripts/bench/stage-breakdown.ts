// Reads annal_append_stage_seconds (ANNAL_TRACE_APPENDS=1) from two /metrics scrapes and
// prints, per stage, how long appends took to reach it from the stage before: the mean
// (exact: sum / count) and the p50 and p99 bucket bounds (the histogram's resolution).
import { APPEND_STAGES } from "../../src/ledger/append-trace.js";

interface StageHistogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound (seconds). */
  buckets: Map<number, number>;
}

export type StageScrape = Map<string, StageHistogram>;

export function parseStageMetrics(text: string): StageScrape {
  const stages: StageScrape = new Map();
  const get = (stage: string) => {
    let h = stages.get(stage);
    if (h === undefined) stages.set(stage, (h = { count: 0, sum: 0, buckets: new Map() }));
    return h;
  };
  for (const line of text.split("\n")) {
    const m = /^annal_append_stage_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const h = get(labels["stage"] ?? "?");
    const value = Number(m[3]);
    if (m[1] === "sum") h.sum = value;
    else if (m[1] === "count") h.count = value;
    else h.buckets.set(labels["le"] === "+Inf" ? Infinity : Number(labels["le"]), value);
  }
  return stages;
}

function quantileBound(h: StageHistogram, before: StageHistogram | undefined, q: number): number {
  const count = h.count - (before?.count ?? 0);
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  for (const bound of bounds) {
    if (h.buckets.get(bound)! - (before?.buckets.get(bound) ?? 0) >= q * count) return bound;
  }
  return Infinity;
}

const ms = (seconds: number) => (seconds === Infinity ? "  > 5 s" : `${(seconds * 1000).toFixed(seconds < 0.001 ? 2 : 1).padStart(6)} ms`);

/** One line per stage reached between the two scrapes, in timeline order, then the total. */
export function formatStageBreakdown(before: StageScrape, after: StageScrape): string[] {
  const lines = [`   ${"stage (time since the previous stage)".padEnd(40)} ${"mean".padStart(9)} ${"p50 ≤".padStart(9)} ${"p99 ≤".padStart(9)}   share of total mean`];
  const totalAfter = after.get("total");
  const totalMean = totalAfter === undefined ? NaN : (totalAfter.sum - (before.get("total")?.sum ?? 0)) / (totalAfter.count - (before.get("total")?.count ?? 0));
  for (const stage of [...APPEND_STAGES, "total"]) {
    const h = after.get(stage);
    const b = before.get(stage);
    const count = (h?.count ?? 0) - (b?.count ?? 0);
    if (h === undefined || count === 0) continue;
    const mean = (h.sum - (b?.sum ?? 0)) / count;
    const share = stage === "total" ? "" : `${((100 * mean) / totalMean).toFixed(1).padStart(5)} %`;
    lines.push(`   ${stage.padEnd(40)} ${ms(mean).padStart(9)} ${ms(quantileBound(h, b, 0.5)).padStart(9)} ${ms(quantileBound(h, b, 0.99)).padStart(9)}   ${share}`);
  }
  return lines;
}
