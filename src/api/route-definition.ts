import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { Context } from "hono";
import { LedgerError } from "../core/index.js";
import type { AppEnv } from "./context.js";
import { readJsonBody } from "./json-body.js";
import { mark, STAGE } from "../ledger/append-trace.js";

/**
 * What a caller must hold to use a route, enforced by the authorize middleware against the
 * token's roles (src/api/middleware/authorize.ts); a test keeps every route declaring one.
 */
export type Permission = "public" | "events:append" | "events:read" | "audit:read" | "metrics:read" | "admin:*";
export const PERMISSIONS: readonly Permission[] = ["public", "events:append", "events:read", "audit:read", "metrics:read", "admin:*"];

export type HttpMethod = "GET" | "POST";

/** One documented answer of a route: its description, bodies by media type, headers. */
export interface ResponseSpec {
  description: string;
  content?: Readonly<Record<string, TSchema>>;
  headers?: Readonly<Record<string, { description: string; schema: TSchema }>>;
}

/** The request parts a route reads. Only these are read, and always through these schemas. */
export interface RequestSchemas {
  /** Every `:name` of the path, as properties. */
  params?: TObject;
  query?: TObject;
  /** Header names as sent (`Idempotency-Key`); matched case-insensitively. */
  headers?: TObject;
  /** A JSON body, read with the strict parser (see json-body.ts) before the schema sees it. */
  body?: TSchema;
}

type Part<S, Fallback> = S extends TSchema ? Static<S> : Fallback;
export interface RouteInput<R extends RequestSchemas> {
  params: Part<R["params"], Record<string, never>>;
  query: Part<R["query"], Record<string, never>>;
  headers: Part<R["headers"], Record<string, never>>;
  body: Part<R["body"], undefined>;
}

/**
 * A route: everything the app, the authorize middleware and the OpenAPI document need,
 * in one place. The document is derived from these fields (openapi.ts) and requests are
 * validated with the same schemas (defineRoute), so the two cannot disagree; a route
 * cannot be added without its documentation.
 */
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
  operationId: string;
  summary: string;
  /** CommonMark. */
  description?: string;
  tags: readonly string[];
  request: RequestSchemas;
  /**
   * The answers of this route's own: success and its specific errors. Those every route
   * can give (400 for a bad API version, 401/403 for a protected route, 500, 503) are
   * added by the document builder.
   */
  responses: Readonly<Record<number, ResponseSpec>>;
  handler: (c: Context<AppEnv>) => Promise<Response> | Response;
}

export type RouteSpec<R extends RequestSchemas> = Omit<RouteDefinition, "acceptsBody" | "handler" | "request"> & {
  request?: R;
  /** Deepest JSON nesting accepted in the body (the envelope counts); required with a body. */
  maxJsonDepth?: number;
  handle: (c: Context<AppEnv>, input: RouteInput<R>) => Promise<Response> | Response;
};

/**
 * Defines a route whose handler gets its input parsed and validated by the route's own
 * schemas: path and query integers from strict decimal digits, a repeated query
 * parameter refused, headers, then the strictly parsed JSON body. The first violation
 * answers 400 ERR_INVALID_INPUT naming the `parameter`, `header` or body `pointer`.
 *
 * @example
 * defineRoute({
 *   method: "GET", path: "/events/:position", permission: "events:read", operationId: "readEvent",
 *   summary: "Read one event", tags: ["events"],
 *   request: { params: Type.Object({ position: SafeInteger() }) },
 *   responses: { 200: { description: "The event.", content: { "application/json": EventRecord } } },
 *   handle: (c, { params }) => c.json(...),
 * });
 */
export function defineRoute<R extends RequestSchemas = Record<never, never>>(spec: RouteSpec<R>): RouteDefinition {
  const { handle, maxJsonDepth, request = {} as R, ...doc } = spec;
  const parsers = {
    params: request.params && compileParameters(request.params, "path", (c, name) => single(c.req.param(name))),
    query: request.query && compileParameters(request.query, "query", queryValue),
    headers: request.headers && compileParameters(request.headers, "header", (c, name) => single(c.req.header(name))),
  };
  const body = request.body && TypeCompiler.Compile(request.body);
  if (body !== undefined && maxJsonDepth === undefined) throw new TypeError(`${spec.method} ${spec.path}: a route with a body needs maxJsonDepth`);
  const empty = {};
  return {
    ...doc,
    request,
    acceptsBody: body !== undefined,
    async handler(c) {
      const input = {
        params: parsers.params?.(c) ?? empty,
        query: parsers.query?.(c) ?? empty,
        headers: parsers.headers?.(c) ?? empty,
        body: body === undefined ? undefined : checkBody(body, await readJsonBody(c, maxJsonDepth!)),
      } as RouteInput<R>;
      mark(c.get("timeline"), STAGE.validated);
      return handle(c, input);
    },
  };
}

/** `/events/:position` → `/events/{position}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

type Location = "path" | "query" | "header";
type Raw = { ok: true; value: string | undefined } | { ok: false; reason: string };

function single(value: string | undefined): Raw {
  return { ok: true, value };
}

function queryValue(c: Context, name: string): Raw {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0) return { ok: true, value: undefined };
  if (values.length > 1) return { ok: false, reason: "must appear at most once" };
  return { ok: true, value: values[0] };
}

const DIGITS = /^[0-9]{1,16}$/;

/**
 * Parameters arrive as text. An integer must be plain decimal digits (not `1e3`, `+1`,
 * `0x10` or `12abc`, which Number() or parseInt() would quietly take); the schema then
 * decides the range. Absent optional parameters take the schema's `default`.
 */
function compileParameters(schema: TObject, location: Location, read: (c: Context, name: string) => Raw): (c: Context) => Record<string, unknown> {
  const check = TypeCompiler.Compile(schema);
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties).map(([name, property]) => ({ name, property, integer: (property as { type?: unknown }).type === "integer" }));
  return (c) => {
    const values: Record<string, unknown> = {};
    for (const { name, property, integer } of fields) {
      const raw = read(c, name);
      if (!raw.ok) throw invalidParameter(location, name, property, raw.reason);
      if (raw.value === undefined) {
        const fallback = (property as { default?: unknown }).default;
        if (fallback !== undefined) values[name] = fallback;
        else if (required.has(name)) throw invalidParameter(location, name, property, "is required");
        continue;
      }
      values[name] = integer ? (DIGITS.test(raw.value) ? Number(raw.value) : Number.NaN) : raw.value;
    }
    if (!check.Check(values)) {
      const first = check.Errors(values).First();
      const name = first?.path.split("/")[1] ?? "";
      throw invalidParameter(location, name, schema.properties[name], "is invalid");
    }
    return values;
  };
}

function invalidParameter(location: Location, name: string, schema: TSchema | undefined, reason: string): LedgerError {
  const expected = describe(schema);
  const message = `${location} parameter ${name} ${reason}${expected ? `: ${expected}` : ""}`;
  const where = location === "header" ? { header: name } : { parameter: name };
  const bounds = schema?.["type"] === "integer" ? { minimum: schema["minimum"] as number, maximum: schema["maximum"] as number } : {};
  return new LedgerError("ERR_INVALID_INPUT", message, { details: { ...where, ...bounds } });
}

function describe(schema: TSchema | undefined): string {
  if (schema === undefined) return "";
  if (typeof schema["description"] === "string" && schema["type"] !== "integer") return schema["description"];
  if (schema["type"] === "integer") return `an integer from ${String(schema["minimum"] ?? 0)} to ${String(schema["maximum"] ?? Number.MAX_SAFE_INTEGER)}`;
  if (typeof schema["pattern"] === "string") return `must match ${schema["pattern"]}`;
  return "";
}

function checkBody<T extends TSchema>(check: TypeCheck<T>, value: unknown): Static<T> {
  if (check.Check(value)) return value;
  const first = check.Errors(value).First();
  const pointer = first?.path ?? "";
  throw new LedgerError("ERR_INVALID_INPUT", `request body ${pointer === "" ? "" : `at ${pointer} `}is invalid: ${first?.message ?? "does not match the schema"}`, { details: { pointer } });
}
