import { OrderCancelled, OrderPlaced, type OrderPlacedData } from "../../events/index.js";
import { defineProjection, type ProjectionDb } from "../../src/projector/index.js";

/**
 * Orders and totals per currency, one event at a time. Each handler guards on the
 * event's position (`last_position`), so an event applied twice changes nothing.
 */
export default defineProjection({
  name: "order_totals",
  version: 1,
  events: [OrderPlaced, OrderCancelled],
  async apply(event, db) {
    if (event.type === OrderPlaced.type) {
      const data = event.data as unknown as OrderPlacedData;
      const currency = data.currency ?? "XXX";
      const { rowCount } = await db.query(
        `INSERT INTO orders (stream_id, total, currency, customer_id, status, placed_at, last_position)
         VALUES ($1, $2, $3, $4, 'placed', $5, $6) ON CONFLICT (stream_id) DO NOTHING`,
        [event.streamId, data.total, currency, data.customerId ?? null, event.recordedAt, event.position],
      );
      if (rowCount === 1) await addToTotal(db, currency, 1, data.total);
      return;
    }
    // OrderCancelled: only a placed order, and only once.
    const { rows } = await db.query<{ total: string; currency: string }>(
      `UPDATE orders SET status = 'cancelled', last_position = $2
       WHERE stream_id = $1 AND status = 'placed' AND last_position < $2 RETURNING total::text, currency`,
      [event.streamId, event.position],
    );
    const order = rows[0];
    if (order !== undefined) await addToTotal(db, order.currency, -1, `-${order.total}`);
  },
});

async function addToTotal(db: ProjectionDb, currency: string, orders: number, amount: number | string): Promise<void> {
  await db.query(
    `INSERT INTO totals (currency, orders, amount) VALUES ($1, $2, $3::numeric)
     ON CONFLICT (currency) DO UPDATE SET orders = totals.orders + EXCLUDED.orders, amount = totals.amount + EXCLUDED.amount`,
    [currency, orders, amount],
  );
}
