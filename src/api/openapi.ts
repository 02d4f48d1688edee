import { EVENT_ID_PATTERN, EVENT_TYPE_PATTERN, STREAM_ID_PATTERN } from "../core/index.js";
import type { ResolvedApiOptions } from "./context.js";
import { API_VERSION_HEADER, LATEST_API_VERSION, SUPPORTED_API_VERSIONS } from "./middleware/api-version.js";
import { PROBLEM_BASE_URI, PROBLEM_CONTENT_TYPE, PROBLEMS } from "./problems.js";
import { projectionOperations, projectionSchemas } from "./projection-openapi.js";
import { proofOperations, proofSchemas } from "./proof-openapi.js";

// Hand-written OpenAPI 3.1. A generator (@hono/zod-openapi) would have us validate with
// zod, but request bodies must go through parseStrictJson (duplicate keys, __proto__,
// I-JSON numbers) before any schema sees them, which zod's validator cannot do. A test
// keeps this document and the route table in step, in both directions.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string): JsonObject => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref("Problem") } } });
const json = (description: string, schema: JsonObject): JsonObject => ({ description, content: { "application/json": { schema } } });
const standardProblems: JsonObject = {
  "400": problem("Invalid input or unsupported API version (`ERR_INVALID_INPUT`, `ERR_API_VERSION`)."),
  "500": problem("Internal error; the detail is generic, quote `requestId`."),
  "503": problem("Overloaded or unavailable (`ERR_OVERLOADED`, `ERR_UNAVAILABLE`); see `Retry-After`."),
};

/** Operations keyed by `METHOD /openapi/{path}`; the route-table test walks these keys. */
function operations(options: ResolvedApiOptions): Record<string, JsonObject> {
  const limit = {
    name: "limit",
    in: "query",
    description: `Most events to return. Values above ${options.maxReadLimit} are refused (400), not clamped.`,
    schema: { type: "integer", minimum: 1, maximum: options.maxReadLimit, default: Math.min(100, options.maxReadLimit) },
  };
  const streamId = { name: "streamId", in: "path", required: true, schema: { type: "string", pattern: STREAM_ID_PATTERN.source } };
  return {
    ...proofOperations(),
    ...projectionOperations(options.maxReadLimit),
    "POST /streams/{streamId}/events": {
      operationId: "appendEvents",
      tags: ["events"],
      summary: "Append events to a stream",
      description:
        "Appends one or more events atomically. The body is parsed as strict I-JSON: duplicate keys, `__proto__` keys, " +
        `nesting deeper than ${options.maxJsonDepth}, integers outside ±(2^53-1) and lone surrogates are refused, as are unknown members. ` +
        "The 201 answer is a receipt: positions, hashes, signatures and the signed checkpoint covering them. " +
        "Repeating a request with the same `Idempotency-Key` answers the original receipt.",
      "x-permission": "events:append",
      parameters: [
        streamId,
        { name: "Idempotency-Key", in: "header", description: "1-255 printable ASCII characters, scoped to the caller.", schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7e]+$" } },
      ],
      requestBody: { required: true, content: { "application/json": { schema: ref("AppendRequest") } } },
      responses: {
        "201": {
          description: "Appended; `Location` names the first event.",
          headers: { Location: { schema: { type: "string" }, description: "`/events/{position}` of the first event." } },
          content: { "application/json": { schema: ref("Receipt") } },
        },
        ...standardProblems,
        "409": problem("`ERR_EXPECTED_VERSION` (with `actualVersion`) or `ERR_IDEMPOTENCY_IN_FLIGHT`."),
        "413": problem(`Body larger than ${options.maxBodyBytes} bytes (\`ERR_PAYLOAD_TOO_LARGE\`).`),
        "415": problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`)."),
        "422": problem("Idempotency key reused with a different request (`ERR_IDEMPOTENCY_KEY_REUSED`)."),
      },
    },
    "GET /streams/{streamId}/events": {
      operationId: "readStream",
      tags: ["events"],
      summary: "Read a stream",
      description: "Events of one stream in version order. An unknown stream (no events at all) answers 404 `ERR_NOT_FOUND`; reading past the end of a stream that exists answers 200 with no events.",
      "x-permission": "events:read",
      parameters: [streamId, { name: "fromVersion", in: "query", description: "First stream version to return (inclusive).", schema: { type: "integer", minimum: 0, default: 1 } }, limit],
      responses: { "200": json("The events.", ref("StreamEvents")), "404": problem("The stream has no events (`ERR_NOT_FOUND`)."), ...standardProblems },
    },
    "GET /events": {
      operationId: "readAll",
      tags: ["events"],
      summary: "Read the global log",
      description: "Events in position order. `nextPosition` is the `fromPosition` to ask for next; it equals the request's when nothing new was returned.",
      "x-permission": "events:read",
      parameters: [{ name: "fromPosition", in: "query", description: "First position to return (inclusive).", schema: { type: "integer", minimum: 1, default: 1 } }, limit],
      responses: { "200": json("The events.", ref("AllEvents")), ...standardProblems },
    },
    "GET /events/{position}": {
      operationId: "readEvent",
      tags: ["events"],
      summary: "Read one event",
      description: "The full record with its hashes and signature.",
      "x-permission": "events:read",
      parameters: [{ name: "position", in: "path", required: true, schema: { type: "integer", minimum: 0 } }],
      responses: { "200": json("The event.", ref("EventRecord")), "404": problem("No event at that position (`ERR_NOT_FOUND`)."), ...standardProblems },
    },
    "GET /checkpoints/latest": {
      operationId: "latestCheckpoint",
      tags: ["audit"],
      summary: "The latest signed checkpoint",
      description: "JSON by default; with `Accept: text/plain` the C2SP signed note itself.",
      "x-permission": "audit:read",
      responses: {
        "200": {
          description: "The checkpoint.",
          content: { "application/json": { schema: ref("Checkpoint") }, "text/plain": { schema: { type: "string", description: "C2SP signed note." } } },
        },
        "404": problem("No checkpoint has been signed yet (`ERR_NOT_FOUND`)."),
        ...standardProblems,
      },
    },
    "GET /keys": {
      operationId: "publicKeys",
      tags: ["audit"],
      summary: "Ledger public keys",
      "x-permission": "public",
      responses: { "200": json("All keys, current and retired.", { type: "object", required: ["keys"], additionalProperties: false, properties: { keys: { type: "array", items: ref("PublicKey") } } }), ...standardProblems },
    },
    "GET /healthz": {
      operationId: "health",
      tags: ["operations"],
      summary: "Liveness: the process is up",
      "x-permission": "public",
      responses: { "200": json("Up.", ref("Status")) },
    },
    "GET /readyz": {
      operationId: "ready",
      tags: ["operations"],
      summary: "Readiness: database reachable, migrations applied, signer loaded",
      "x-permission": "public",
      responses: { "200": json("Ready.", ref("Status")), "503": problem("Not ready (`ERR_UNAVAILABLE`).") },
    },
    "GET /metrics": {
      operationId: "metrics",
      tags: ["operations"],
      summary: "Prometheus metrics",
      "x-permission": "metrics:read",
      responses: { "200": { description: "Prometheus text exposition format.", content: { "text/plain": { schema: { type: "string" } } } } },
    },
    "GET /openapi.json": {
      operationId: "openApi",
      tags: ["operations"],
      summary: "This document",
      "x-permission": "public",
      responses: { "200": json("OpenAPI 3.1 document.", { type: "object" }) },
    },
    "GET /docs": {
      operationId: "docs",
      tags: ["operations"],
      summary: "Rendered API reference",
      "x-permission": "public",
      responses: { "200": { description: "Self-contained HTML page.", content: { "text/html": { schema: { type: "string" } } } } },
    },
  };
}

function schemas(options: ResolvedApiOptions): Record<string, JsonObject> {
  const hash = { type: "string", description: "32 bytes, standard base64 with padding.", contentEncoding: "base64" };
  const safeInteger = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
  return {
    ...proofSchemas(),
    ...projectionSchemas(),
    AppendRequest: {
      type: "object",
      required: ["events"],
      additionalProperties: false,
      properties: { events: { type: "array", minItems: 1, maxItems: options.maxEventsPerAppend, items: ref("AppendEvent") }, expectedVersion: ref("ExpectedVersion") },
    },
    AppendEvent: {
      type: "object",
      required: ["type", "data"],
      additionalProperties: false,
      properties: {
        type: { type: "string", pattern: EVENT_TYPE_PATTERN.source, examples: ["PaymentCaptured"] },
        data: { description: "Any I-JSON value (null allowed)." },
        metadata: { type: "object", description: "Actor, correlation, causation; hashed with the header." },
        eventId: { type: "string", pattern: EVENT_ID_PATTERN.source, description: "Lowercase UUID; generated when absent." },
      },
    },
    ExpectedVersion: {
      description: "`any`: no check; `no_stream`: the stream must not exist; `stream_exists`; n: the stream's last version must be n.",
      oneOf: [{ type: "string", enum: ["any", "no_stream", "stream_exists"] }, safeInteger],
    },
    Receipt: {
      type: "object",
      required: ["streamId", "streamVersion", "events", "checkpoint"],
      additionalProperties: false,
      properties: { streamId: { type: "string" }, streamVersion: safeInteger, events: { type: "array", items: ref("ReceiptEvent") }, checkpoint: ref("Checkpoint") },
    },
    ReceiptEvent: {
      type: "object",
      required: ["position", "streamVersion", "eventId", "hash", "keyId", "signature"],
      additionalProperties: false,
      properties: { position: safeInteger, streamVersion: safeInteger, eventId: { type: "string" }, hash, keyId: { type: "string" }, signature: { type: "string", contentEncoding: "base64" } },
    },
    Checkpoint: {
      type: "object",
      required: ["treeSize", "rootHash", "note"],
      additionalProperties: false,
      properties: { treeSize: safeInteger, rootHash: hash, note: { type: "string", description: "C2SP tlog-checkpoint signed note." } },
    },
    EventRecord: {
      type: "object",
      required: ["position", "streamId", "streamVersion", "eventId", "type", "recordedAt", "metadata", "dataHash", "prevHash", "streamPrevHash", "keyId", "hash", "signature"],
      additionalProperties: false,
      properties: {
        position: safeInteger,
        streamId: { type: "string" },
        streamVersion: safeInteger,
        eventId: { type: "string" },
        type: { type: "string" },
        recordedAt: { type: "string", format: "date-time" },
        metadata: { type: "object" },
        data: { description: "Absent once redacted." },
        dataSalt: { type: "string", contentEncoding: "base64", description: "Absent once redacted." },
        dataHash: hash,
        prevHash: hash,
        streamPrevHash: hash,
        keyId: { type: "string" },
        hash,
        signature: { type: "string", contentEncoding: "base64" },
      },
    },
    StreamEvents: {
      type: "object",
      required: ["streamId", "events"],
      additionalProperties: false,
      properties: { streamId: { type: "string" }, events: { type: "array", items: ref("EventRecord") } },
    },
    AllEvents: {
      type: "object",
      required: ["events", "nextPosition"],
      additionalProperties: false,
      properties: { events: { type: "array", items: ref("EventRecord") }, nextPosition: safeInteger },
    },
    PublicKey: {
      type: "object",
      required: ["keyId", "algorithm", "publicKey", "noteVerifierKey", "validFrom"],
      additionalProperties: false,
      properties: {
        keyId: { type: "string" },
        algorithm: { const: "Ed25519" },
        publicKey: { type: "string", contentEncoding: "base64" },
        noteVerifierKey: { type: "string" },
        validFrom: { type: "string", format: "date-time" },
        validTo: { type: "string", format: "date-time" },
      },
    },
    Status: { type: "object", required: ["status"], properties: { status: { type: "string" } } },
    Problem: {
      type: "object",
      description: "RFC 9457 problem details. Extension members (e.g. `actualVersion`, `supported`, `pointer`, `parameter`) depend on `code`.",
      required: ["type", "title", "status", "detail", "code", "requestId"],
      properties: {
        type: { type: "string", format: "uri", enum: [...new Set(Object.values(PROBLEMS).map((p) => PROBLEM_BASE_URI + p.slug))] },
        title: { type: "string" },
        status: { type: "integer" },
        detail: { type: "string" },
        code: { type: "string", enum: Object.keys(PROBLEMS) },
        instance: { type: "string" },
        requestId: { type: "string" },
        actualVersion: { description: "ERR_EXPECTED_VERSION: the stream's current version." },
        supported: { type: "array", items: { type: "string" }, description: "ERR_API_VERSION: the supported versions." },
      },
    },
  };
}

/** The OpenAPI 3.1 document for an app built with `options`. */
export function buildOpenApiDocument(options: ResolvedApiOptions): JsonObject {
  const versionParameter = {
    name: API_VERSION_HEADER,
    in: "header",
    description: `API version; absent means the latest (${LATEST_API_VERSION}). Echoed on every response; an unsupported one answers 400 \`ERR_API_VERSION\` listing \`supported\`.`,
    schema: { type: "string", enum: [...SUPPORTED_API_VERSIONS] },
  };
  const paths: Record<string, JsonObject> = {};
  for (const [key, operation] of Object.entries(operations(options))) {
    const [method = "", path = ""] = key.split(" ");
    const parameters = Array.isArray(operation["parameters"]) ? operation["parameters"] : [];
    const withHeaders: JsonObject = { ...operation, parameters: [...parameters, { $ref: "#/components/parameters/ApiVersion" }] };
    // Every non-public operation goes through the authorize middleware: say so, with its two refusals.
    const permission = operation["x-permission"];
    if (typeof permission === "string" && permission !== "public") {
      withHeaders["security"] = [{ bearer: [] }];
      withHeaders["responses"] = {
        ...(operation["responses"] as JsonObject),
        "401": problem("No valid Bearer access token (`ERR_UNAUTHENTICATED`); see `WWW-Authenticate`."),
        "403": problem(`The token's roles do not grant \`${permission}\` here (\`ERR_FORBIDDEN\`).`),
      };
    }
    paths[path] = { ...paths[path], [method.toLowerCase()]: withHeaders };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Annal",
      version: LATEST_API_VERSION,
      description:
        "Append-only ledger: hash-chained, Ed25519-signed events with signed checkpoints. Every error is RFC 9457 " +
        `\`${PROBLEM_CONTENT_TYPE}\` with a stable \`code\`. Every response carries \`${API_VERSION_HEADER}\` and \`X-Request-Id\`. ` +
        "Unknown paths answer 404 and known paths with another method 405 (with `Allow`).",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      parameters: { ApiVersion: versionParameter },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "RFC 9068 access token (`typ: at+jwt`) from the configured OIDC issuer; see docs/api.md." } },
      schemas: schemas(options),
    },
  };
}
