import { assertIJson, canonicalJson, isLedgerError, isValidEventId, isValidEventType, isValidStreamId, LedgerError } from "../core/index.js";
import type { AppendEventInput, AppendRequest, ExpectedVersion } from "./types.js";

export const MAX_EVENTS_PER_APPEND = 1000;
/**
 * Idempotency keys: 1-255 printable ASCII characters; inner spaces allowed, none at the
 * ends (HTTP strips them from header values). The one rule, for the HTTP edge too.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

function invalid(message: string, details?: Record<string, unknown>): LedgerError {
  return new LedgerError("ERR_INVALID_INPUT", message, details ? { details } : {});
}

export function isExpectedVersion(value: unknown): value is ExpectedVersion {
  return value === "any" || value === "no_stream" || value === "stream_exists" || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0);
}

/**
 * Validates an append at the ledger's own edge (the HTTP layer validates too, but the
 * library is public): every field the core will hash must be well-formed I-JSON.
 */
export function assertAppendRequest(request: AppendRequest, maxEvents = MAX_EVENTS_PER_APPEND): void {
  if (!isValidStreamId(request.streamId)) throw invalid("streamId must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$", { field: "streamId" });
  if (!Array.isArray(request.events) || request.events.length === 0) throw invalid("events must be a non-empty array", { field: "events" });
  if (request.events.length > maxEvents) throw invalid(`at most ${maxEvents} events per append`, { field: "events" });
  if (request.expectedVersion !== undefined && !isExpectedVersion(request.expectedVersion)) {
    throw invalid('expectedVersion must be "any", "no_stream", "stream_exists" or a non-negative integer', { field: "expectedVersion" });
  }
  if (request.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) {
    throw invalid("Idempotency-Key must be 1-255 printable ASCII characters", { field: "idempotencyKey" });
  }
  const ids = new Set<string>();
  // Array.isArray narrows a readonly array to any[]: keep the declared element type.
  const events: readonly AppendEventInput[] = request.events;
  events.forEach((event, i) => {
    const field = `events[${i}]`;
    if (!isValidEventType(event.type)) throw invalid(`${field}.type must match ^[A-Za-z][A-Za-z0-9._:-]{0,127}$`, { field: `${field}.type` });
    if (event.eventId !== undefined) {
      if (!isValidEventId(event.eventId)) throw invalid(`${field}.eventId must be a lowercase UUID`, { field: `${field}.eventId` });
      if (ids.has(event.eventId)) throw invalid(`${field}.eventId repeats an earlier event of this append`, { field: `${field}.eventId` });
      ids.add(event.eventId);
    }
    if (event.data === undefined) throw invalid(`${field}.data is required`, { field: `${field}.data` });
    rethrowAt(`${field}.data`, () => assertIJson(event.data));
    if (event.metadata !== undefined) {
      if (event.metadata === null || typeof event.metadata !== "object" || Array.isArray(event.metadata)) {
        throw invalid(`${field}.metadata must be an object`, { field: `${field}.metadata` });
      }
      rethrowAt(`${field}.metadata`, () => assertIJson(event.metadata));
    }
  });
}

function rethrowAt(field: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (isLedgerError(error)) throw invalid(`${field}: ${error.message}`, { field, ...error.details });
    throw error;
  }
}

/** What the idempotency record compares: the request as the client sent it. */
export function requestFingerprint(request: AppendRequest): string {
  return canonicalJson({
    streamId: request.streamId,
    expectedVersion: request.expectedVersion ?? "any",
    events: request.events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata ?? {}, eventId: e.eventId ?? null })),
  });
}
