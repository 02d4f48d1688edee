import { SYSTEM_STREAM_PREFIX } from "../../events/index.js";
import { isValidEventId, isValidEventType, isValidStreamId, LedgerError, type JsonObject, type JsonValue } from "../core/index.js";
import { IDEMPOTENCY_KEY_PATTERN, isExpectedVersion } from "../ledger/validate.js";
import type { AppendEventInput, AppendRequest, ExpectedVersion } from "../ledger/types.js";

const TOP_LEVEL_FIELDS = new Set(["events", "expectedVersion"]);
const EVENT_FIELDS = new Set(["type", "data", "metadata", "eventId"]);

/**
 * Turns an already strictly parsed body into an `AppendRequest`, or throws
 * ERR_INVALID_INPUT naming the JSON pointer of the first offending member.
 *
 * Unknown members are refused, not ignored: a misspelt `expectedVerison` silently
 * ignored would turn a guarded append into an unguarded one.
 */
export function parseAppendRequest(input: {
  streamId: string;
  body: unknown;
  idempotencyKey: string | undefined;
  principal: string;
  maxEvents: number;
}): AppendRequest {
  const { streamId, body, idempotencyKey, principal, maxEvents } = input;
  // Annal writes these itself (annal:redactions, annal:projections): nobody may forge a system record.
  assertWritableStream(streamId);
  if (!isPlainObject(body)) throw invalid("request body must be a JSON object", { pointer: "" });
  rejectUnknownFields(body, TOP_LEVEL_FIELDS, "");
  const events = body["events"];
  if (!Array.isArray(events)) throw invalid("events must be an array", { pointer: "/events" });
  if (events.length === 0) throw invalid("events must not be empty", { pointer: "/events" });
  if (events.length > maxEvents) throw invalid(`at most ${maxEvents} events per append`, { pointer: "/events", maxEvents });
  const request: AppendRequest = {
    streamId,
    events: events.map((event: unknown, index) => parseEvent(event, `/events/${index}`)),
    principal,
  };
  if ("expectedVersion" in body) request.expectedVersion = parseExpectedVersion(body["expectedVersion"]);
  if (idempotencyKey !== undefined) request.idempotencyKey = idempotencyKey;
  return request;
}

/** The Idempotency-Key header, checked before the body is read. */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw invalid("Idempotency-Key must be 1-255 printable ASCII characters", { header: "Idempotency-Key" });
  }
  return header;
}

export function assertStreamId(streamId: string): void {
  if (!isValidStreamId(streamId)) {
    throw invalid("stream id must be 1-200 characters of [A-Za-z0-9._:@-], starting with a letter or digit", { parameter: "streamId" });
  }
}

/** Annal's own streams (`annal:…`: redactions, projection skips, seals) are written by Annal alone. */
export function assertWritableStream(streamId: string): void {
  if (streamId.startsWith(SYSTEM_STREAM_PREFIX)) {
    throw new LedgerError("ERR_FORBIDDEN", `stream ids starting with "${SYSTEM_STREAM_PREFIX}" are reserved for Annal's own events`, { details: { streamId } });
  }
}

function parseEvent(event: unknown, pointer: string): AppendEventInput {
  if (!isPlainObject(event)) throw invalid("each event must be a JSON object", { pointer });
  rejectUnknownFields(event, EVENT_FIELDS, pointer);
  if (!isValidEventType(event["type"])) {
    throw invalid("event type must match [A-Za-z][A-Za-z0-9._:-]{0,127}", { pointer: `${pointer}/type` });
  }
  if (!("data" in event)) throw invalid("event data is required (it may be null)", { pointer: `${pointer}/data` });
  // parseStrictJson already proved the whole body is I-JSON, so every member is a JsonValue.
  const parsed: AppendEventInput = { type: event["type"], data: event["data"] as JsonValue };
  if ("metadata" in event) {
    if (!isPlainObject(event["metadata"])) throw invalid("metadata must be a JSON object", { pointer: `${pointer}/metadata` });
    parsed.metadata = event["metadata"] as JsonObject;
  }
  if ("eventId" in event) {
    if (!isValidEventId(event["eventId"])) throw invalid("eventId must be a lowercase UUID", { pointer: `${pointer}/eventId` });
    parsed.eventId = event["eventId"];
  }
  return parsed;
}

function parseExpectedVersion(value: unknown): ExpectedVersion {
  if (isExpectedVersion(value)) return value;
  throw invalid('expectedVersion must be "any", "no_stream", "stream_exists" or a non-negative integer', { pointer: "/expectedVersion" });
}

function rejectUnknownFields(object: Record<string, unknown>, allowed: ReadonlySet<string>, pointer: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) {
      throw invalid(`unknown field ${JSON.stringify(key)}`, { pointer: `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}` });
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string, details: Record<string, unknown>): LedgerError {
  return new LedgerError("ERR_INVALID_INPUT", message, { details });
}
