import { PROBLEM_CONTENT_TYPE } from "./problems.js";

// OpenAPI operations and schemas of the read-model and operator routes
// (projection-routes.ts, admin-routes.ts), merged into the document by openapi.ts.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string): JsonObject => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref("Problem") } } });
const json = (description: string, schema: JsonObject): JsonObject => ({ description, content: { "application/json": { schema } } });
const common: JsonObject = {
  "400": problem("Invalid input or unsupported API version (`ERR_INVALID_INPUT`, `ERR_API_VERSION`)."),
  "500": problem("Internal error; the detail is generic, quote `requestId`."),
  "503": problem("Projections are off in this instance, or overloaded (`ERR_UNAVAILABLE`); see `Retry-After`."),
};
const name: JsonObject = { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[a-z][a-z0-9_]{0,40}$" } };
const safeInteger: JsonObject = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const streamText = (parameter: string, description: string): JsonObject => ({ name: parameter, in: "query", description, schema: { type: "string", pattern: "^[A-Za-z0-9._:@-]{1,200}$" } });

export function projectionOperations(maxReadLimit: number): Record<string, JsonObject> {
  const adminAction = (action: string, summary: string, description: string, body?: JsonObject): JsonObject => ({
    operationId: `${action}Projection`,
    tags: ["admin"],
    summary,
    description,
    "x-permission": "admin:*",
    parameters: [name],
    ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
    responses: {
      "202": json("Accepted; the projector carries it out.", ref("ProjectionAction")),
      "404": problem("No projection or build of that name (`ERR_NOT_FOUND`)."),
      "409": problem("The build has already applied that position (`ERR_CONFLICT`)."),
      ...(body ? { "413": problem("Body too large (`ERR_PAYLOAD_TOO_LARGE`)."), "415": problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`).") } : {}),
      ...common,
    },
  });
  return {
    "GET /streams": {
      operationId: "listStreams",
      tags: ["events"],
      summary: "The stream catalogue (the `streams` projection)",
      description:
        "Streams with their version, event count, first and last position and time, ordered by stream id (byte order), only those in the domains the caller may read. " +
        "With `minPosition` (a position from a receipt) the read waits, up to `ANNAL_READ_WAIT_MS`, until the catalogue reflects the log up to it (read-your-writes), else answers 503 `ERR_PROJECTION_BEHIND`.",
      "x-permission": "events:read",
      parameters: [
        streamText("prefix", "Only stream ids starting with this."),
        streamText("after", "Page after this stream id (the previous page's `next`)."),
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: maxReadLimit, default: Math.min(100, maxReadLimit) } },
        { name: "minPosition", in: "query", description: "Wait until the catalogue has applied the log up to this position.", schema: safeInteger },
      ],
      responses: {
        "200": {
          description: "A page of streams; `next` is null on the last page.",
          headers: { "Annal-Projection-Position": { schema: { type: "integer" }, description: "With `minPosition`: the position the catalogue had reached." } },
          content: { "application/json": { schema: ref("StreamPage") } },
        },
        ...common,
        "503": problem("The catalogue did not reach `minPosition` in time (`ERR_PROJECTION_BEHIND`), or projections are off (`ERR_UNAVAILABLE`); see `Retry-After`."),
      },
    },
    "GET /projections": {
      operationId: "listProjections",
      tags: ["audit"],
      summary: "Status of every projection",
      description: "Per build: status, position, lag in events and seconds, heartbeat, last error, the LtHash16 commitment of its rows, and the log prefix (size, root, covering signed checkpoint) it reflects.",
      "x-permission": "audit:read",
      parameters: [],
      responses: { "200": json("All projections.", { type: "object", required: ["projections"], properties: { projections: { type: "array", items: ref("ProjectionStatus") } } }), ...common },
    },
    "GET /projections/{name}": {
      operationId: "getProjection",
      tags: ["audit"],
      summary: "Status of one projection",
      "x-permission": "audit:read",
      parameters: [name],
      responses: { "200": json("The projection.", ref("ProjectionStatus")), "404": problem("No projection of that name (`ERR_NOT_FOUND`)."), ...common },
    },
    "POST /admin/projections/{name}/pause": adminAction("pause", "Pause a projection", "Its builds stop applying events and keep their lease and position."),
    "POST /admin/projections/{name}/resume": adminAction("resume", "Resume a projection", "Un-pauses, and restarts a build that stopped on an error (it retries the event it failed on)."),
    "POST /admin/projections/{name}/rebuild": adminAction("rebuild", "Rebuild a projection beside the active build", "Starts a new build replaying the log from position 1 into its own schema while the active one keeps serving; cuts over atomically once it has caught up. Recorded as `ProjectionRebuildStarted` and `ProjectionCutOver` events in stream `annal:projections`."),
    "POST /admin/projections/{name}/skip": adminAction(
      "skip",
      "Do not apply one event to a projection",
      "For a poison event: recorded first as a `ProjectionEventSkipped` event (stream `annal:projections`), then the build goes on past it.",
      {
        type: "object",
        required: ["position", "reason"],
        additionalProperties: false,
        properties: { position: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, reason: { type: "string", minLength: 1, maxLength: 2000 }, build: { type: "integer", minimum: 1 } },
      },
    ),
    "GET /admin/config": {
      operationId: "getConfig",
      tags: ["admin"],
      summary: "The effective configuration, secrets masked",
      "x-permission": "admin:*",
      parameters: [],
      responses: { "200": json("Configuration.", { type: "object", required: ["config", "auth"], properties: { config: { type: "object" }, auth: { type: "string", enum: ["oidc", "off"] } } }), ...common },
    },
  };
}

export function projectionSchemas(): Record<string, JsonObject> {
  const nullableText: JsonObject = { type: ["string", "null"] };
  const build: JsonObject = {
    type: "object",
    required: ["build", "version", "state", "schema", "codeHash", "status", "healthy", "position", "lagEvents", "lagSeconds", "heartbeatAt", "heartbeatAgeSeconds", "owner", "error", "commitment", "log"],
    properties: {
      build: { type: "integer" },
      version: { type: "integer" },
      state: { type: "string", enum: ["active", "building"] },
      schema: { type: "string" },
      codeHash: { type: "string" },
      status: { type: "string", enum: ["running", "paused", "stopped", "failed", "idle"] },
      healthy: { type: "boolean", description: "Running, not paused, and its loop beat recently." },
      position: safeInteger,
      lagEvents: safeInteger,
      lagSeconds: { type: "number", minimum: 0 },
      heartbeatAt: nullableText,
      heartbeatAgeSeconds: { type: ["number", "null"] },
      owner: nullableText,
      error: { type: ["object", "null"], properties: { code: { type: "string" }, message: { type: "string" }, position: { type: ["integer", "null"] } } },
      commitment: { type: "string", description: "`lthash16-blake3:` and the base64 SHA-256 of the 2048-byte LtHash16 state (docs/verification.md)." },
      log: {
        type: "object",
        required: ["treeSize", "rootHash", "checkpoint"],
        properties: {
          treeSize: safeInteger,
          rootHash: { type: ["string", "null"], description: "RFC 9162 root of the first `treeSize` events." },
          checkpoint: { type: ["object", "null"], properties: { treeSize: safeInteger, rootHash: { type: "string" } }, description: "The first signed checkpoint at or after `treeSize`; a consistency proof links the two." },
        },
      },
    },
  };
  return {
    StreamPage: {
      type: "object",
      required: ["streams", "next"],
      properties: {
        streams: {
          type: "array",
          items: {
            type: "object",
            required: ["streamId", "version", "eventCount", "firstPosition", "lastPosition", "firstRecordedAt", "lastRecordedAt"],
            properties: {
              streamId: { type: "string" },
              version: safeInteger,
              eventCount: safeInteger,
              firstPosition: safeInteger,
              lastPosition: safeInteger,
              firstRecordedAt: { type: "string", format: "date-time" },
              lastRecordedAt: { type: "string", format: "date-time" },
            },
          },
        },
        next: { type: ["string", "null"], description: "Pass as `after` for the next page; null on the last." },
      },
    },
    ProjectionStatus: {
      type: "object",
      required: ["name", "active", "building"],
      properties: { name: { type: "string" }, active: { oneOf: [build, { type: "null" }] }, building: { type: "array", items: build } },
    },
    ProjectionAction: { type: "object", required: ["projection", "action"], properties: { projection: { type: "string" }, action: { type: "string" }, build: { type: "integer" }, ledgerPosition: { type: "integer" } } },
  };
}
