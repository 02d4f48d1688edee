// Projections in `npm run bench` (BENCH_ONLY=projections): catch-up of the `streams`
// projection over a filled log, and its lag while the ledger takes workload (a).
import { pino } from "pino";
import { openAnnal, type AnnalCore, type OpenOptions } from "../../src/annal.js";
import type { InlineWork } from "../../src/ledger/index.js";
import { loadConfig } from "../../src/config.js";
import { createListeningWakeup } from "../../src/follower/index.js";
import { createRowExpander } from "../../src/projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../../src/projector/loader.js";
import { createProjector } from "../../src/projector/projector.js";
import { fillLog, payload } from "./fill-log.js";
import { percentile, runClosedLoop } from "./stats.js";


async function open(url: string, home: string, options: OpenOptions = {}): Promise<AnnalCore> {
  return openAnnal(loadConfig({ DATABASE_URL: url, ANNAL_HOME: home, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off" }), pino({ level: "silent" }), options);
}


async function startStreams(core: AnnalCore, batchSize: number, onProgress?: (position: number, events: number) => void, mode: "async" | "inline" = "async") {
  const wakeup = createListeningWakeup(core.connect);
  const [streams] = await loadProjections(BUILT_IN_PROJECTIONS_DIR, ["streams"]);
  const projector = createProjector(
    { pool: core.pool, connect: core.connect, wakeup, expand: await createRowExpander(), onProgress: (_p, _b, position, events) => onProgress?.(position, events) },
    { projections: [{ ...streams!, definition: { ...streams!.definition, mode } }], batchSize, pollIntervalMs: 100 },
  );
  await projector.start();
  return { projector, wakeup, stop: async () => (await projector.stop(), await wakeup.close()) };
}

export async function benchProjections(opts: { catchUpUrl: string; lagUrl: string; inlineUrl: string; home: string; events: number; streams: number; appends: number }): Promise<void> {
  const batchSize = Number(process.env.BENCH_PROJECTION_BATCH ?? 2000);
  // Catch-up: the projection starts from position 1 over a log that is already there.
  const filled = await open(opts.catchUpUrl, `${opts.home}-catchup`);
  try {
    await fillLog(filled, { events: opts.events, streamId: (_w, i) => `p-${i % opts.streams}`, label: "projection catch-up" });
    const started = performance.now();
    const running = await startStreams(filled, batchSize, (position) => {
      if (position % 100_000 < batchSize) process.stderr.write(`\rstreams projection catching up: ${position} / ${opts.events}`);
    });
    await running.projector.waitFor("streams", opts.events, 3_600_000);
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write("\n");
    await running.stop();
    console.log(`projection catch-up: streams over ${opts.events} events (${opts.streams} streams, ${batchSize}-event transactions): ${seconds.toFixed(1)} s, ${(opts.events / seconds).toFixed(0)} events/s`);
  } finally {
    await filled.close();
  }

  // Lag: from an append's acknowledgement to the commit of the projection batch that applied it.
  const live = await open(opts.lagUrl, `${opts.home}-lag`);
  try {
    const acked = new Map<number, number>();
    const lags: number[] = [];
    let running: Awaited<ReturnType<typeof startStreams>> | undefined;
    running = await startStreams(live, 1000, (position, events) => {
      const now = performance.now();
      for (let p = position - events + 1; p <= position; p++) {
        const at = acked.get(p);
        if (at !== undefined) {
          lags.push(now - at);
          acked.delete(p);
        }
      }
    });
    const load = await runClosedLoop("(a) with the streams projection following", { concurrency: 64, totalOps: opts.appends, eventsPerOp: 1 }, async (w, i) => {
      const receipt = await live.ledger.append({ streamId: `a-${w}`, events: [{ type: "OrderPlaced", data: payload(i) }] });
      acked.set(receipt.events[0]!.position, performance.now());
      // What serve's onBatch hook does: wake the followers of this process.
      running?.wakeup.wake();
    });
    const head = (await live.pool.query<{ position: number }>("SELECT position FROM annal.durable_head")).rows[0]!.position;
    await running.projector.waitFor("streams", head, 60_000);
    await running.stop();
    running = undefined;
    lags.sort((a, b) => a - b);
    console.log(
      `projection lag under (a): ${load.eventsPerSecond.toFixed(0)} appends/s (p99 ${load.p99Ms.toFixed(1)} ms); ack -> applied p50 ${percentile(lags, 50).toFixed(1)} ms, p99 ${percentile(lags, 99).toFixed(1)} ms, max ${lags[lags.length - 1]?.toFixed(1)} ms over ${lags.length} events`,
    );
  } finally {
    await live.close();
  }

  // Inline: the same workload with `streams` applied inside each append transaction (holding the head lock).
  const holder: { current?: InlineWork } = {};
  const inlineCore = await open(opts.inlineUrl, `${opts.home}-inline`, { inline: { active: () => holder.current?.active() ?? false, apply: (tx, events) => holder.current!.apply(tx, events) } });
  try {
    const running = await startStreams(inlineCore, 1000, undefined, "inline");
    holder.current = running.projector.inline;
    while (!running.projector.inline.active()) await new Promise((r) => setTimeout(r, 50));
    const load = await runClosedLoop("(a) with the streams projection inline", { concurrency: 64, totalOps: opts.appends, eventsPerOp: 1 }, (w, i) =>
      inlineCore.ledger.append({ streamId: `a-${w}`, events: [{ type: "OrderPlaced", data: payload(i) }] }),
    );
    const [status] = await running.projector.status("streams");
    await running.stop();
    console.log(`projection inline under (a): ${load.eventsPerSecond.toFixed(0)} appends/s, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms; read model at ${status?.active?.position} when the last append returned`);
  } finally {
    await inlineCore.close();
  }
}
