import { Type, type TSchema } from "@sinclair/typebox";
import type { Context } from "hono";
import { LedgerError } from "../core/index.js";
import type { ApiDeps, AppEnv, ProjectionsApi } from "./context.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { defineRoute, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Problem, SafeInteger } from "./schemas.js";

const problem = (description: string): ResponseSpec => ({ description, content: { [PROBLEM_CONTENT_TYPE]: Problem } });
const json = (description: string, schema: TSchema): ResponseSpec => ({ description, content: { "application/json": schema } });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const ProjectionName = Type.String({ pattern: "^[a-z][a-z0-9_]{0,40}$", description: "A projection name: [a-z][a-z0-9_]{0,40}." });
const StreamText = (description: string) => Type.String({ pattern: "^[A-Za-z0-9._:@-]{1,200}$", description });

const StreamPage = Type.Object(
  {
    streams: Type.Array(
      Type.Object({
        streamId: Type.String(),
        version: SafeInteger(),
        eventCount: SafeInteger(),
        firstPosition: SafeInteger(),
        lastPosition: SafeInteger(),
        firstRecordedAt: Type.String({ format: "date-time" }),
        lastRecordedAt: Type.String({ format: "date-time" }),
      }),
    ),
    next: Nullable(Type.String({ description: "Pass as `after` for the next page; null on the last." })),
  },
  { $id: "StreamPage" },
);

const Build = Type.Object(
  {
    build: Type.Integer(),
    version: Type.Integer(),
    state: Type.Union([Type.Literal("active"), Type.Literal("building")]),
    schema: Type.String(),
    codeHash: Type.String(),
    status: Type.Union([Type.Literal("running"), Type.Literal("paused"), Type.Literal("stopped"), Type.Literal("failed"), Type.Literal("idle")]),
    healthy: Type.Boolean({ description: "Running, not paused, and its loop beat recently." }),
    position: SafeInteger(),
    lagEvents: SafeInteger(),
    lagSeconds: Type.Number({ minimum: 0 }),
    heartbeatAt: Nullable(Type.String()),
    heartbeatAgeSeconds: Nullable(Type.Number()),
    owner: Nullable(Type.String()),
    error: Nullable(Type.Object({ code: Type.Optional(Type.String()), message: Type.Optional(Type.String()), position: Type.Optional(Nullable(Type.Integer())) })),
    commitment: Type.String({ description: "`lthash16-blake3:` and the base64 SHA-256 of the 2048-byte LtHash16 state (docs/verification.md)." }),
    log: Type.Object({
      treeSize: SafeInteger(),
      rootHash: Nullable(Type.String({ description: "RFC 9162 root of the first `treeSize` events." })),
      checkpoint: Nullable(Type.Object({ treeSize: Type.Optional(SafeInteger()), rootHash: Type.Optional(Type.String()) }, { description: "The first signed checkpoint at or after `treeSize`; a consistency proof links the two." })),
    }),
  },
  { $id: "ProjectionBuild" },
);

const ProjectionStatus = Type.Object({ name: Type.String(), active: Nullable(Build), building: Type.Array(Build) }, { $id: "ProjectionStatus" });
const ProjectionAction = Type.Object(
  { projection: Type.String(), action: Type.String(), build: Type.Optional(Type.Integer()), ledgerPosition: Type.Optional(Type.Integer()), state: Type.Optional(Type.String()), schema: Type.Optional(Type.String()) },
  { $id: "ProjectionAction" },
);

const SkipRequest = Type.Object(
  {
    position: SafeInteger({ minimum: 1 }),
    reason: Type.String({ minLength: 1, maxLength: 2000, pattern: "\\S", description: "Why; recorded in the log." }),
    build: Type.Optional(SafeInteger({ minimum: 1 })),
  },
  { $id: "SkipRequest", additionalProperties: false },
);

const notRunning = "Projections are off in this instance (`ERR_UNAVAILABLE`, ANNAL_PROJECTIONS=none), or a dependency did not answer in time; see `Retry-After`.";

const adminResponses: Readonly<Record<number, ResponseSpec>> = {
  202: json("Accepted; the projector carries it out.", ProjectionAction),
  404: problem("No projection or build of that name (`ERR_NOT_FOUND`)."),
  409: problem("The build has already applied that position (`ERR_CONFLICT`)."),
  503: problem(notRunning),
};

/**
 * Read models and their operation: the stream catalogue (`GET /streams`, filtered to the
 * caller's domains), projection status for auditors and operators, and the admin
 * actions (each recorded in the log by the projector).
 */
export function createProjectionRoutes(deps: Pick<ApiDeps, "projections">, options: { maxReadLimit: number; maxJsonDepth: number }): RouteDefinition[] {
  const projections = (): ProjectionsApi => {
    if (deps.projections === undefined) throw new LedgerError("ERR_UNAVAILABLE", "projections are not running in this instance (ANNAL_PROJECTIONS=none)");
    return deps.projections;
  };
  const named = Type.Object({ name: ProjectionName });
  const admin = (action: "pause" | "resume" | "rebuild", summary: string, description: string, act: (c: Context<AppEnv>, name: string) => Promise<unknown>): RouteDefinition =>
    defineRoute({
      method: "POST",
      path: `/admin/projections/:name/${action}`,
      permission: "admin:*",
      operationId: `${action}Projection`,
      tags: ["admin"],
      summary,
      description,
      request: { params: named },
      responses: adminResponses,
      async handle(c, { params: { name } }) {
        return accepted(c, name, action, await act(c, name));
      },
    });

  return [
    defineRoute({
      method: "GET",
      path: "/streams",
      permission: "events:read",
      domainFiltered: true,
      operationId: "listStreams",
      tags: ["events"],
      summary: "The stream catalogue (the `streams` projection)",
      description:
        "Streams with their version, event count, first and last position and time, ordered by stream id (byte order), only those in the domains the caller may read. " +
        "With `minPosition` (a position from a receipt) the read waits, up to `ANNAL_READ_WAIT_MS`, until the catalogue reflects the log up to it (read-your-writes), else answers 503 `ERR_PROJECTION_BEHIND`; a position beyond the durable log answers 400.",
      request: {
        query: Type.Object({
          prefix: Type.Optional(StreamText("Only stream ids starting with this.")),
          after: Type.Optional(StreamText("Page after this stream id (the previous page's `next`).")),
          limit: SafeInteger({ minimum: 1, maximum: options.maxReadLimit, default: Math.min(100, options.maxReadLimit) }),
          minPosition: SafeInteger({ default: 0, description: "Wait until the catalogue has applied the log up to this position." }),
        }),
      },
      responses: {
        200: {
          description: "A page of streams; `next` is null on the last page.",
          headers: { "Annal-Projection-Position": { description: "With `minPosition`: the position the catalogue had reached.", schema: SafeInteger() } },
          content: { "application/json": StreamPage },
        },
        503: problem("The catalogue did not reach `minPosition` in time (`ERR_PROJECTION_BEHIND`), or projections are off (`ERR_UNAVAILABLE`); see `Retry-After`."),
      },
      async handle(c, { query: { prefix, after, limit, minPosition } }) {
        const api = projections();
        // Read-your-writes: a caller holding a receipt names its position and waits (bounded) for the read model.
        const position = minPosition > 0 ? await api.waitFor("streams", minPosition, api.readWaitMs) : undefined;
        const patterns = c.get("principal").grants.filter((g) => g.permissions.includes("events:read")).flatMap((g) => g.streams);
        const page = await api.listStreams({ ...(prefix ? { prefix } : {}), ...(after ? { after } : {}), limit, patterns });
        if (position !== undefined) c.header("Annal-Projection-Position", String(position));
        return c.json(page);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/projections",
      permission: "audit:read",
      operationId: "listProjections",
      tags: ["audit"],
      summary: "Status of every projection",
      description: "Per build: status, position, lag in events and seconds, heartbeat, last error, the LtHash16 commitment of its rows, and the log prefix (size, root, covering signed checkpoint) it reflects.",
      responses: { 200: json("All projections.", Type.Object({ projections: Type.Array(ProjectionStatus) })), 503: problem(notRunning) },
      handle: async (c) => c.json({ projections: await projections().status() }),
    }),
    defineRoute({
      method: "GET",
      path: "/projections/:name",
      permission: "audit:read",
      operationId: "getProjection",
      tags: ["audit"],
      summary: "Status of one projection",
      request: { params: named },
      responses: { 200: json("The projection.", ProjectionStatus), 404: problem("No projection of that name (`ERR_NOT_FOUND`)."), 503: problem(notRunning) },
      async handle(c, { params: { name } }) {
        const [status] = await projections().status(name);
        return c.json(status);
      },
    }),
    admin("pause", "Pause a projection", "Its builds stop applying events and keep their lease and position.", (_c, name) => projections().pause(name)),
    admin("resume", "Resume a projection", "Un-pauses, and restarts a build that stopped on an error (it retries the event it failed on).", (_c, name) => projections().resume(name)),
    admin(
      "rebuild",
      "Rebuild a projection beside the active build",
      "Starts a new build replaying the log from position 1 into its own schema while the active one keeps serving; cuts over atomically once it has caught up. Recorded as `ProjectionRebuildStarted` and `ProjectionCutOver` events in stream `annal:projections`.",
      async (c, name) => {
        const build = await projections().rebuild(name, c.get("principal").subject);
        return { build: build.build, state: build.state, schema: build.schema };
      },
    ),
    defineRoute({
      method: "POST",
      path: "/admin/projections/:name/skip",
      permission: "admin:*",
      operationId: "skipProjection",
      tags: ["admin"],
      summary: "Do not apply one event to a projection",
      description: "For a poison event: recorded first as a `ProjectionEventSkipped` event (stream `annal:projections`), then the build goes on past it.",
      request: { params: named, body: SkipRequest },
      maxJsonDepth: options.maxJsonDepth,
      responses: {
        ...adminResponses,
        413: problem("Body too large (`ERR_PAYLOAD_TOO_LARGE`)."),
        415: problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`)."),
      },
      async handle(c, { params: { name }, body }) {
        const result = await projections().skip(name, { position: body.position, reason: body.reason, actor: c.get("principal").subject, ...(body.build === undefined ? {} : { build: body.build }) });
        return accepted(c, name, "skip", result);
      },
    }),
  ];
}

function accepted(c: Context<AppEnv>, name: string, action: string, result: unknown): Response {
  c.get("logger").info({ projection: name, action, actor: c.get("principal").subject }, "projection admin action");
  return c.json({ projection: name, action, ...(result as object | undefined) }, 202);
}
