import type { AnnalCore } from "../../src/annal.js";

/** The event data of every bench workload (an order of the same shape each time). */
export const payload = (i: number) => ({ orderId: `o-${i}`, amount: 4200 + (i % 100), currency: "EUR", lines: [{ sku: "abc", qty: 2 }] });

/**
 * Fills a log with `events` events: 100-event appends from 8 concurrent writers, the
 * stream of each append chosen by `streamId(writer, append)`; progress on stderr.
 */
export async function fillLog(core: Pick<AnnalCore, "ledger">, options: { events: number; streamId: (writer: number, append: number) => string; label: string }): Promise<void> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = next++; i * 100 < options.events; i = next++) {
        await core.ledger.append({ streamId: options.streamId(w, i), events: Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: payload(i * 100 + j) })) });
        if (i % 1000 === 0) process.stderr.write(`\rfilling the log for ${options.label}: ${i * 100} / ${options.events} events`);
      }
    }),
  );
  process.stderr.write(`\rfilled ${options.events} events in ${((performance.now() - started) / 1000).toFixed(0)} s${" ".repeat(30)}\n`);
}
