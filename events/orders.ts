import { defineEventType } from "./define.js";

// The example domain of the quick start and of docs/projections.md.

export interface OrderPlacedData {
  total: number;
  currency?: string;
  customerId?: string;
}
export const OrderPlaced = defineEventType<OrderPlacedData>({
  type: "OrderPlaced",
  description: "A customer placed an order for `total` (in minor units or whole units, as the writer decides) of `currency`.",
  schema: {
    type: "object",
    required: ["total"],
    properties: {
      total: { type: "number", minimum: 0 },
      currency: { type: "string", pattern: "^[A-Z]{3}$" },
      customerId: { type: "string", minLength: 1, maxLength: 200 },
    },
  },
});

export interface OrderCancelledData {
  reason?: string;
}
export const OrderCancelled = defineEventType<OrderCancelledData>({
  type: "OrderCancelled",
  description: "The order of this stream was cancelled; its total no longer counts.",
  schema: { type: "object", properties: { reason: { type: "string", maxLength: 2000 } } },
});
