import type { AnnalCore } from "../../src/annal.js";

/** The event data of every bench workload (an order of the same shape each time). */
export const payload = (i: number) => ({ orderId: `o-${i}`, amount: 4200 + (i % 100), currency: "EUR", lines: [{ sku: "abc", qty: 2 }] });

/**
 * Fills a log with `events` events: `appendSize`-event appends (default 100, a multiple of
 * `events`) from `writers` concurrent writers (default 8), the stream of each append chosen
 * by `streamId(writer, append)`; progress on stderr. Large logs (the 10,000,000-event proof
 * bench) use 1000-event appends, which the ledger groups into batches of up to
 * ANNAL_MAX_BATCH_EVENTS: the same signed events, hashes and stored subtrees as any append.
 */
export async function fillLog(
  core: Pick<AnnalCore, "ledger">,
  options: { events: number; streamId: (writer: number, append: number) => string; label: string; appendSize?: number; writers?: number },
): Promise<void> {
  const started = performance.now();
  const size = options.appendSize ?? 100;
  const every = Math.max(1, Math.round(100_000 / size));
  let next = 0;
  await Promise.all(
    Array.from({ length: options.writers ?? 8 }, async (_, w) => {
      for (let i = next++; i * size < options.events; i = next++) {
        await core.ledger.append({ streamId: options.streamId(w, i), events: Array.from({ length: Math.min(size, options.events - i * size) }, (_, j) => ({ type: "OrderPlaced", data: payload(i * size + j) })) });
        if (i % every === 0) process.stderr.write(`\rfilling the log for ${options.label}: ${i * size} / ${options.events} events (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
    }),
  );
  process.stderr.write(`\rfilled ${options.events} events in ${((performance.now() - started) / 1000).toFixed(0)} s${" ".repeat(30)}\n`);
}
