import type { Context } from "hono";
import { isPlainObject } from "./append-request.js";
import { LedgerError } from "../core/index.js";
import type { ApiDeps, AppEnv, ProjectionsApi } from "./context.js";
import { readJsonBody } from "./json-body.js";
import { integerQuery } from "./query.js";
import type { RouteDefinition } from "./routes.js";

const NAME = /^[a-z][a-z0-9_]{0,40}$/;
const STREAM_PREFIX = /^[A-Za-z0-9._:@-]{1,200}$/;

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
  const nameOf = (c: Context<AppEnv>): string => {
    const name = c.req.param("name") ?? "";
    if (!NAME.test(name)) throw new LedgerError("ERR_INVALID_INPUT", "a projection name is [a-z][a-z0-9_]{0,40}", { details: { parameter: "name" } });
    return name;
  };
  const admin = (path: string, act: (c: Context<AppEnv>, name: string) => Promise<unknown>, acceptsBody = false): RouteDefinition => ({
    method: "POST",
    path: `/admin/projections/:name/${path}`,
    permission: "admin:*",
    acceptsBody,
    async handler(c) {
      const name = nameOf(c);
      const result = await act(c, name);
      c.get("logger").info({ projection: name, action: path, actor: c.get("principal").subject }, "projection admin action");
      return c.json({ projection: name, action: path, ...(result as object | undefined) }, 202);
    },
  });

  return [
    {
      method: "GET",
      path: "/streams",
      permission: "events:read",
      domainFiltered: true,
      acceptsBody: false,
      async handler(c) {
        const limit = integerQuery(c, "limit", { min: 1, max: options.maxReadLimit, fallback: Math.min(100, options.maxReadLimit) });
        const minPosition = integerQuery(c, "minPosition", { min: 0, fallback: 0 });
        const prefix = optionalText(c, "prefix");
        const after = optionalText(c, "after");
        const api = projections();
        // Read-your-writes: a caller holding a receipt names its position and waits (bounded) for the read model.
        const position = minPosition > 0 ? await api.waitFor("streams", minPosition, api.readWaitMs) : undefined;
        const patterns = c.get("principal").grants.filter((g) => g.permissions.includes("events:read")).flatMap((g) => g.streams);
        const page = await api.listStreams({ ...(prefix ? { prefix } : {}), ...(after ? { after } : {}), limit, patterns });
        if (position !== undefined) c.header("Annal-Projection-Position", String(position));
        return c.json(page);
      },
    },
    {
      method: "GET",
      path: "/projections",
      permission: "audit:read",
      acceptsBody: false,
      handler: async (c) => c.json({ projections: await projections().status() }),
    },
    {
      method: "GET",
      path: "/projections/:name",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        const [status] = await projections().status(nameOf(c));
        return c.json(status);
      },
    },
    admin("pause", (_c, name) => projections().pause(name)),
    admin("resume", (_c, name) => projections().resume(name)),
    admin("rebuild", async (c, name) => {
      const build = await projections().rebuild(name, c.get("principal").subject);
      return { build: build.build, state: build.state, schema: build.schema };
    }),
    admin(
      "skip",
      async (c, name) => {
        const body = await readJsonBody(c, options.maxJsonDepth);
        if (!isPlainObject(body)) throw new LedgerError("ERR_INVALID_INPUT", "the body must be {\"position\": n, \"reason\": \"...\"}");
        const { position, reason, build } = body;
        if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 1) throw new LedgerError("ERR_INVALID_INPUT", "position must be a positive integer", { details: { pointer: "/position" } });
        if (typeof reason !== "string" || reason.trim() === "" || reason.length > 2000) throw new LedgerError("ERR_INVALID_INPUT", "reason must be 1-2000 characters", { details: { pointer: "/reason" } });
        if (build !== undefined && (typeof build !== "number" || !Number.isSafeInteger(build) || build < 1)) throw new LedgerError("ERR_INVALID_INPUT", "build must be a positive integer", { details: { pointer: "/build" } });
        for (const key of Object.keys(body)) if (!["position", "reason", "build"].includes(key)) throw new LedgerError("ERR_INVALID_INPUT", `unknown member ${key}`, { details: { pointer: `/${key}` } });
        return projections().skip(name, { position, reason, actor: c.get("principal").subject, ...(build === undefined ? {} : { build: build }) });
      },
      true,
    ),
  ];
}

function optionalText(c: Context<AppEnv>, name: string): string | undefined {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0) return undefined;
  const value = values[0]!;
  if (values.length > 1 || !STREAM_PREFIX.test(value)) {
    throw new LedgerError("ERR_INVALID_INPUT", `query parameter ${name} must appear once and be 1-200 characters of [A-Za-z0-9._:@-]`, { details: { parameter: name } });
  }
  return value;
}
