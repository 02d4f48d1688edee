import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjectionSpec, type ProjectionSpec } from "../../src/projector/index.js";
import { createTestDatabase } from "../support/services.js";

// The Given/When/Then helper projection authors use, on the shipped example projection.
let spec: ProjectionSpec;
let drop: () => Promise<void>;
beforeAll(async () => {
  const db = await createTestDatabase();
  drop = () => db.drop();
  spec = createProjectionSpec("projections/order_totals", { databaseUrl: db.url });
});
afterAll(async () => {
  await spec?.close();
  await drop?.();
});

const placed = (streamId: string, total: number, currency = "EUR") => ({ streamId, type: "OrderPlaced", data: { total, currency } });

describe("order_totals", () => {
  it("given an order placed, when it is cancelled, then it no longer counts", async () => {
    await spec
      .given(placed("order-1", 5), placed("order-2", 7))
      .when({ streamId: "order-1", type: "OrderCancelled", data: {} })
      .then(async (db) => {
        expect((await db.query("SELECT stream_id, status FROM orders ORDER BY stream_id")).rows).toEqual([
          { stream_id: "order-1", status: "cancelled" },
          { stream_id: "order-2", status: "placed" },
        ]);
        expect((await db.query("SELECT currency, orders, amount::text AS amount FROM totals")).rows).toEqual([{ currency: "EUR", orders: 1, amount: "7" }]);
      });
  });

  it("when the same order is placed twice on a stream, then only the first counts", async () => {
    await spec.when(placed("order-9", 3, "USD"), placed("order-9", 4, "USD")).then(async (db) => {
      expect((await db.query("SELECT orders, amount::text AS amount FROM totals WHERE currency = 'USD'")).rows).toEqual([{ orders: 1, amount: "3" }]);
    });
  });

  it("when an OrderPlaced breaks its schema, then the projection refuses it, naming the position", async () => {
    const error = await spec.given(placed("order-1", 1)).when({ streamId: "order-2", type: "OrderPlaced", data: { total: "lots" } }).thenFails();
    expect(error).toMatchObject({ code: "ERR_PROJECTION_FAILED", details: { position: 2 } });
  });

  it("fails a handler that is not idempotent", async () => {
    const { loadProjection } = await import("../../src/projector/loader.js");
    const { defineProjection } = await import("../../src/projector/index.js");
    const base = await loadProjection("projections/order_totals");
    // Counts every event it is given, even one it has seen: applying twice changes the rows.
    const counting = {
      ...base,
      definition: defineProjection({ name: "order_totals", version: 1, apply: async (_event, db) => void (await db.query("INSERT INTO totals (currency, orders, amount) VALUES ('ALL', 1, 0) ON CONFLICT (currency) DO UPDATE SET orders = totals.orders + 1")) }),
    };
    const db = await createTestDatabase();
    const naive = createProjectionSpec(counting, { databaseUrl: db.url });
    try {
      await expect(naive.when(placed("order-1", 1)).then(() => Promise.resolve())).rejects.toThrow(/not idempotent/);
    } finally {
      await naive.close();
      await db.drop();
    }
  });
});
