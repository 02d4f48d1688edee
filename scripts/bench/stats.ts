export interface LoadResult {
  name: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `concurrency` workers, each calling `op(worker, i)` until `totalOps` operations
 * are done, and reports events/s and the latency distribution of one operation.
 */
export async function runClosedLoop(
  name: string,
  options: { concurrency: number; totalOps: number; eventsPerOp: number },
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      for (let i = next++; i < options.totalOps; i = next++) {
        const t0 = performance.now();
        await op(worker, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const events = options.totalOps * options.eventsPerOp;
  return { name, events, seconds, eventsPerSecond: events / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

export function formatRow(r: LoadResult): string {
  return `${r.name.padEnd(58)} ${Math.round(r.eventsPerSecond).toString().padStart(8)} ev/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.events} events in ${r.seconds.toFixed(1)} s)`;
}
