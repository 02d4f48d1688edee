// The event types Annal knows: its own (system) and the example domain's.
export { defineEventType, SYSTEM_STREAM_PREFIX, type EventType } from "./define.js";
export { OrderCancelled, OrderPlaced, type OrderCancelledData, type OrderPlacedData } from "./orders.js";
export {
  ARCHIVE_STREAM,
  PROJECTIONS_STREAM,
  SegmentSealed,
  type SegmentSealedData,
  ProjectionCutOver,
  ProjectionEventSkipped,
  ProjectionRebuildStarted,
  type ProjectionCutOverData,
  type ProjectionEventSkippedData,
  type ProjectionRebuildStartedData,
} from "./system.js";
