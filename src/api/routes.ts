import { Type, type TSchema } from "@sinclair/typebox";
import { accepts } from "hono/accepts";
import { LedgerError } from "../core/index.js";
import type { JsonObject, JsonValue } from "../core/index.js";
import type { AppendEventInput, AppendRequest } from "../ledger/types.js";
import { mark, STAGE } from "../ledger/append-trace.js";
import type { ApiDeps, ResolvedApiOptions } from "./context.js";
import { assertWritableStream } from "./append-request.js";
import { buildProblem, PROBLEM_CONTENT_TYPE } from "./problems.js";
import { createProofRoutes } from "./proof-routes.js";
import { checkpointJson, eventJson, publicKeyJson, receiptJson } from "./representations.js";
import { defineRoute, type RouteDefinition, type ResponseSpec } from "./route-definition.js";
import { AllEvents, appendRequestSchema, Checkpoint, EventRecord, IdempotencyKeyHeader, Problem, PublicKeys, Receipt, SafeInteger, Status, StreamEvents, StreamIdParameter, Text } from "./schemas.js";

// Kept here for the modules that import them from the route table.
export { openApiPath, PERMISSIONS, type HttpMethod, type Permission, type RouteDefinition } from "./route-definition.js";

const DEFAULT_READ_LIMIT = 100;

const problem = (description: string): ResponseSpec => ({ description, content: { [PROBLEM_CONTENT_TYPE]: Problem } });
const json = (description: string, schema: TSchema): ResponseSpec => ({ description, content: { "application/json": schema } });

/** The ledger's routes: append, reads, audit, operations. */
export function createRoutes(deps: ApiDeps, options: ResolvedApiOptions): RouteDefinition[] {
  const { ledger, reader } = deps;
  const limit = SafeInteger({
    minimum: 1,
    maximum: options.maxReadLimit,
    default: Math.min(DEFAULT_READ_LIMIT, options.maxReadLimit),
    description: `Most events to return. Values above ${options.maxReadLimit} are refused (400), not clamped.`,
  });
  const streamPath = Type.Object({ streamId: StreamIdParameter });

  return [
    defineRoute({
      method: "POST",
      path: "/streams/:streamId/events",
      permission: "events:append",
      operationId: "appendEvents",
      tags: ["events"],
      summary: "Append events to a stream",
      description:
        "Appends one or more events atomically. The body is parsed as strict I-JSON: duplicate keys, `__proto__` keys, " +
        `nesting deeper than ${options.maxJsonDepth}, integers outside ±(2^53-1) and lone surrogates are refused, as are unknown members. ` +
        "The 201 answer is a receipt: positions, hashes, signatures and the signed checkpoint covering them.\n\n" +
        "Send an `Idempotency-Key` so that a retry is safe: repeating the request with the same key answers the original receipt. " +
        "A 503 `ERR_OUTCOME_UNKNOWN` means the append may or may not have been written: retry with the same key.",
      request: { params: streamPath, headers: Type.Object({ "Idempotency-Key": Type.Optional(IdempotencyKeyHeader) }), body: appendRequestSchema(options.maxEventsPerAppend) },
      maxJsonDepth: options.maxJsonDepth,
      responses: {
        201: {
          description: "Appended; `Location` names the first event.",
          headers: { Location: { description: "`/events/{position}` of the first event.", schema: Type.String() } },
          content: { "application/json": Receipt },
        },
        400: problem("Invalid input: the first offending member is named by `pointer`, or the parameter or header."),
        403: problem("Stream ids starting with `annal:` are Annal's own (`ERR_FORBIDDEN`)."),
        409: problem("`ERR_EXPECTED_VERSION` (with `actualVersion`), `ERR_DUPLICATE_EVENT` or `ERR_IDEMPOTENCY_IN_FLIGHT`."),
        413: problem(`Body larger than ${options.maxBodyBytes} bytes (\`ERR_PAYLOAD_TOO_LARGE\`).`),
        415: problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`)."),
        422: problem("Idempotency key reused with a different request (`ERR_IDEMPOTENCY_KEY_REUSED`)."),
      },
      async handle(c, { params, headers, body }) {
        assertWritableStream(params.streamId);
        assertUniqueEventIds(body.events);
        // parseStrictJson proved the whole body I-JSON and the schema its shape: data is a
        // JsonValue and metadata a JsonObject.
        const events = body.events as Array<AppendEventInput & { data: JsonValue; metadata?: JsonObject }>;
        const timeline = c.get("timeline");
        const request: AppendRequest = { streamId: params.streamId, events, principal: c.get("principal").subject };
        if (timeline !== undefined) request.timeline = timeline;
        if (body.expectedVersion !== undefined) request.expectedVersion = body.expectedVersion;
        if (headers["Idempotency-Key"] !== undefined) request.idempotencyKey = headers["Idempotency-Key"];
        const receipt = await ledger.append(request);
        mark(timeline, STAGE.resolved);
        const first = receipt.events[0];
        // Debug, not info: one line per append is the access log's job (ANNAL_ACCESS_LOG=1).
        c.get("logger").debug({ streamId: params.streamId, position: first?.position, count: receipt.events.length, streamVersion: receipt.streamVersion }, "events appended");
        if (first !== undefined) c.header("Location", `/events/${first.position}`);
        return c.json(receiptJson(receipt), 201);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/streams/:streamId/events",
      permission: "events:read",
      operationId: "readStream",
      tags: ["events"],
      summary: "Read a stream",
      description: "Events of one stream in version order. An unknown stream (no events at all) answers 404 `ERR_NOT_FOUND`; reading past the end of a stream that exists answers 200 with no events.",
      request: { params: streamPath, query: Type.Object({ fromVersion: SafeInteger({ default: 1, description: "First stream version to return (inclusive)." }), limit }) },
      responses: { 200: json("The events.", StreamEvents), 404: problem("The stream has no events (`ERR_NOT_FOUND`).") },
      async handle(c, { params: { streamId }, query: { fromVersion, limit } }) {
        const events = await reader.readStream(streamId, { fromVersion, limit });
        // An unknown stream is 404 so a typo in a stream id is not mistaken for an empty
        // stream; reading past the end of a stream that exists is 200 with no events.
        if (events.length === 0 && !(await streamExists(streamId, fromVersion))) {
          throw new LedgerError("ERR_NOT_FOUND", `stream ${streamId} has no events`, { details: { streamId } });
        }
        return c.json({ streamId, events: events.map(eventJson) });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/events",
      permission: "events:read",
      operationId: "readAll",
      tags: ["events"],
      summary: "Read the global log",
      description: "Events in position order. `nextPosition` is the `fromPosition` to ask for next; it equals the request's when nothing new was returned.",
      request: { query: Type.Object({ fromPosition: SafeInteger({ minimum: 1, default: 1, description: "First position to return (inclusive)." }), limit }) },
      responses: { 200: json("The events.", AllEvents) },
      async handle(c, { query: { fromPosition, limit } }) {
        const events = await reader.readAll({ fromPosition, limit });
        const last = events[events.length - 1];
        // Where to continue: after the last event returned, or the same place when there
        // was nothing new (a poller keeps asking from there).
        const nextPosition = last === undefined ? fromPosition : last.position + 1;
        return c.json({ events: events.map(eventJson), nextPosition });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/events/:position",
      permission: "events:read",
      operationId: "readEvent",
      tags: ["events"],
      summary: "Read one event",
      description: "The full record with its hashes and signature.",
      request: { params: Type.Object({ position: SafeInteger() }) },
      responses: { 200: json("The event.", EventRecord), 404: problem("No event at that position (`ERR_NOT_FOUND`).") },
      async handle(c, { params: { position } }) {
        const record = await reader.readEvent(position);
        if (record === undefined) throw new LedgerError("ERR_NOT_FOUND", `no event at position ${position}`, { details: { position } });
        return c.json(eventJson(record));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/checkpoints/latest",
      permission: "audit:read",
      operationId: "latestCheckpoint",
      tags: ["audit"],
      summary: "The latest signed checkpoint",
      description: "JSON by default; with `Accept: text/plain` the C2SP signed note itself.",
      responses: {
        200: { description: "The checkpoint.", content: { "application/json": Checkpoint, "text/plain": Text("C2SP signed note.") } },
        404: problem("No checkpoint has been signed yet (`ERR_NOT_FOUND`)."),
      },
      async handle(c) {
        const checkpoint = await reader.latestCheckpoint();
        if (checkpoint === undefined) throw new LedgerError("ERR_NOT_FOUND", "no checkpoint has been signed yet");
        const type = accepts(c, { header: "Accept", supports: ["application/json", "text/plain"], default: "application/json" });
        c.header("Vary", "Accept", { append: true });
        if (type === "text/plain") return c.text(checkpoint.note);
        return c.json(checkpointJson(checkpoint));
      },
    }),
    ...createProofRoutes(deps, options),
    defineRoute({
      method: "GET",
      path: "/keys",
      // Public keys are meant to be published: anyone verifying a checkpoint needs them.
      permission: "public",
      operationId: "publicKeys",
      tags: ["audit"],
      summary: "Ledger public keys",
      responses: { 200: json("All keys, current and retired.", PublicKeys) },
      async handle(c) {
        const keys = await reader.publicKeys();
        return c.json({ keys: keys.map(publicKeyJson) });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/healthz",
      permission: "public",
      operationId: "health",
      tags: ["operations"],
      summary: "Liveness: the process is up",
      responses: { 200: json("Up.", Status) },
      handle: (c) => c.json({ status: "ok" }),
    }),
    defineRoute({
      method: "GET",
      path: "/readyz",
      permission: "public",
      operationId: "ready",
      tags: ["operations"],
      summary: "Readiness: database reachable, migrations applied, signer loaded",
      description: "Answers within 2 s whatever the database does: 503 while it does not answer.",
      responses: { 200: json("Ready.", Status), 503: problem("Not ready (`ERR_UNAVAILABLE`); see `Retry-After`.") },
      async handle(c) {
        let ready = false;
        try {
          ready = await deps.ready();
        } catch (error) {
          c.get("logger").warn({ err: error }, "readiness check failed");
        }
        if (ready) return c.json({ status: "ready" });
        // Answered here rather than thrown: not being ready is a normal state, not an error to log as one.
        const body = buildProblem({ code: "ERR_UNAVAILABLE", detail: "not ready", requestId: c.get("requestId"), instance: c.req.path });
        return c.body(JSON.stringify(body), 503, { "Content-Type": PROBLEM_CONTENT_TYPE, "Retry-After": "1" });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/metrics",
      permission: "metrics:read",
      operationId: "metrics",
      tags: ["operations"],
      summary: "Prometheus metrics",
      responses: { 200: { description: "Prometheus text exposition format.", content: { "text/plain": Text("Prometheus text format 0.0.4.") } } },
      async handle(c) {
        const text = await deps.metrics.metrics();
        return c.body(text, 200, { "Content-Type": deps.metrics.contentType });
      },
    }),
  ];

  async function streamExists(streamId: string, fromVersion: number): Promise<boolean> {
    if (fromVersion <= 1) return false;
    const first = await reader.readStream(streamId, { fromVersion: 1, limit: 1 });
    return first.length > 0;
  }
}

/** Said in the schema's description (JSON Schema cannot say "unique by member"), enforced here. */
function assertUniqueEventIds(events: ReadonlyArray<{ eventId?: string }>): void {
  const seen = new Set<string>();
  events.forEach((event, index) => {
    if (event.eventId === undefined) return;
    if (seen.has(event.eventId)) {
      throw new LedgerError("ERR_INVALID_INPUT", `eventId ${event.eventId} repeats an earlier event of this request`, { details: { pointer: `/events/${index}/eventId` } });
    }
    seen.add(event.eventId);
  });
}
