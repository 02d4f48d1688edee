import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { LedgerError } from "../core/index.js";
import { assertStreamId, assertWritableStream, parseAppendRequest, parseIdempotencyKey } from "./append-request.js";
import type { ApiDeps, AppEnv, ResolvedApiOptions } from "./context.js";
import { renderDocsPage } from "./docs-page.js";
import { readJsonBody } from "./json-body.js";
import { buildOpenApiDocument } from "./openapi.js";
import { buildProblem, PROBLEM_CONTENT_TYPE } from "./problems.js";
import { integerPathParameter, integerQuery } from "./query.js";
import { createProofRoutes } from "./proof-routes.js";
import { checkpointJson, eventJson, publicKeyJson, receiptJson } from "./representations.js";

/**
 * What a caller must hold to use a route, enforced by the authorize middleware against the
 * token's roles (src/api/middleware/authorize.ts); a test keeps every route declaring one.
 */
export type Permission = "public" | "events:append" | "events:read" | "audit:read" | "metrics:read" | "admin:*";
export const PERMISSIONS: readonly Permission[] = ["public", "events:append", "events:read", "audit:read", "metrics:read", "admin:*"];

export type HttpMethod = "GET" | "POST";

export interface RouteDefinition {
  method: HttpMethod;
  /** Hono pattern (`/events/:position`); the OpenAPI path is derived from it. */
  path: string;
  permission: Permission;
  /**
   * Over many streams but filtered to the caller's domains (`GET /streams`): allowed with
   * the permission on any domain; the handler narrows the answer to the caller's grants.
   */
  domainFiltered?: boolean;
  /** Routes that read a body get the streaming body limit in front of them. */
  acceptsBody: boolean;
  handler: (c: Context<AppEnv>) => Promise<Response> | Response;
}

const DEFAULT_READ_LIMIT = 100;

/** The route table: the one list the app, the OpenAPI test and (later) RBAC read. */
export function createRoutes(deps: ApiDeps, options: ResolvedApiOptions): RouteDefinition[] {
  const { ledger, reader } = deps;
  const readLimit = (c: Context<AppEnv>): number =>
    integerQuery(c, "limit", { min: 1, max: options.maxReadLimit, fallback: Math.min(DEFAULT_READ_LIMIT, options.maxReadLimit) });
  // Built once and served from memory: the document depends only on the options.
  const openApi = buildOpenApiDocument(options);
  const openApiText = JSON.stringify(openApi);
  const docsPage = renderDocsPage(openApi);

  return [
    ...createProofRoutes(deps),
    {
      method: "POST",
      path: "/streams/:streamId/events",
      permission: "events:append",
      acceptsBody: true,
      async handler(c) {
        const streamId = pathParameter(c, "streamId");
        // Cheap checks first: a bad stream id or key never costs us reading the body.
        assertStreamId(streamId);
        assertWritableStream(streamId);
        const idempotencyKey = parseIdempotencyKey(c.req.header("Idempotency-Key"));
        const body = await readJsonBody(c, options.maxJsonDepth);
        const request = parseAppendRequest({ streamId, body, idempotencyKey, principal: c.get("principal").subject, maxEvents: options.maxEventsPerAppend });
        const receipt = await ledger.append(request);
        const first = receipt.events[0];
        c.get("logger").info({ streamId, position: first?.position, count: receipt.events.length, streamVersion: receipt.streamVersion }, "events appended");
        if (first !== undefined) c.header("Location", `/events/${first.position}`);
        return c.json(receiptJson(receipt), 201);
      },
    },
    {
      method: "GET",
      path: "/streams/:streamId/events",
      permission: "events:read",
      acceptsBody: false,
      async handler(c) {
        const streamId = pathParameter(c, "streamId");
        assertStreamId(streamId);
        const fromVersion = integerQuery(c, "fromVersion", { min: 0, fallback: 1 });
        const limit = readLimit(c);
        const events = await reader.readStream(streamId, { fromVersion, limit });
        // An unknown stream is 404 so a typo in a stream id is not mistaken for an empty
        // stream; reading past the end of a stream that exists is 200 with no events.
        if (events.length === 0 && !(await streamExists(streamId, fromVersion))) {
          throw new LedgerError("ERR_NOT_FOUND", `stream ${streamId} has no events`, { details: { streamId } });
        }
        return c.json({ streamId, events: events.map(eventJson) });
      },
    },
    {
      method: "GET",
      path: "/events",
      permission: "events:read",
      acceptsBody: false,
      async handler(c) {
        const fromPosition = integerQuery(c, "fromPosition", { min: 0, fallback: 1 });
        const limit = readLimit(c);
        const events = await reader.readAll({ fromPosition, limit });
        const last = events[events.length - 1];
        // Where to continue: after the last event returned, or the same place when there
        // was nothing new (a poller keeps asking from there).
        const nextPosition = last === undefined ? fromPosition : last.position + 1;
        return c.json({ events: events.map(eventJson), nextPosition });
      },
    },
    {
      method: "GET",
      path: "/events/:position",
      permission: "events:read",
      acceptsBody: false,
      async handler(c) {
        const position = integerPathParameter(pathParameter(c, "position"), "position");
        const record = await reader.readEvent(position);
        if (record === undefined) throw new LedgerError("ERR_NOT_FOUND", `no event at position ${position}`, { details: { position } });
        return c.json(eventJson(record));
      },
    },
    {
      method: "GET",
      path: "/checkpoints/latest",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        const checkpoint = await reader.latestCheckpoint();
        if (checkpoint === undefined) throw new LedgerError("ERR_NOT_FOUND", "no checkpoint has been signed yet");
        const type = accepts(c, { header: "Accept", supports: ["application/json", "text/plain"], default: "application/json" });
        c.header("Vary", "Accept", { append: true });
        if (type === "text/plain") return c.text(checkpoint.note);
        return c.json(checkpointJson(checkpoint));
      },
    },
    {
      method: "GET",
      path: "/keys",
      // Public keys are meant to be published: anyone verifying a checkpoint needs them.
      permission: "public",
      acceptsBody: false,
      async handler(c) {
        const keys = await reader.publicKeys();
        return c.json({ keys: keys.map(publicKeyJson) });
      },
    },
    {
      method: "GET",
      path: "/healthz",
      permission: "public",
      acceptsBody: false,
      handler: (c) => c.json({ status: "ok" }),
    },
    {
      method: "GET",
      path: "/readyz",
      permission: "public",
      acceptsBody: false,
      async handler(c) {
        let ready = false;
        try {
          ready = await deps.ready();
        } catch (error) {
          c.get("logger").warn({ err: error }, "readiness check failed");
        }
        if (ready) return c.json({ status: "ready" });
        // Answered here rather than thrown: not being ready is a normal state, not an error to log as one.
        const problem = buildProblem({ code: "ERR_UNAVAILABLE", detail: "not ready", requestId: c.get("requestId"), instance: c.req.path });
        return c.body(JSON.stringify(problem), 503, { "Content-Type": PROBLEM_CONTENT_TYPE, "Retry-After": "1" });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      permission: "metrics:read",
      acceptsBody: false,
      async handler(c) {
        const text = await deps.metrics.metrics();
        return c.body(text, 200, { "Content-Type": deps.metrics.contentType });
      },
    },
    {
      method: "GET",
      path: "/openapi.json",
      permission: "public",
      acceptsBody: false,
      handler: (c) => c.body(openApiText, 200, { "Content-Type": "application/json" }),
    },
    {
      method: "GET",
      path: "/docs",
      permission: "public",
      acceptsBody: false,
      // The page inlines everything it needs, so a strict CSP costs nothing and keeps it inert.
      handler: (c) => c.html(docsPage, 200, { "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'" }),
    },
  ];

  async function streamExists(streamId: string, fromVersion: number): Promise<boolean> {
    if (fromVersion <= 1) return false;
    const first = await reader.readStream(streamId, { fromVersion: 1, limit: 1 });
    return first.length > 0;
  }
}

/** `/events/:position` → `/events/{position}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

// Untyped routes give `string | undefined`; the table only routes here when the segment exists.
function pathParameter(c: Context<AppEnv>, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new LedgerError("ERR_INVALID_INPUT", `missing path parameter ${name}`, { details: { parameter: name } });
  return value;
}
