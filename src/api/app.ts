import { Hono, type Context } from "hono";
import { requestId } from "hono/request-id";
import { LedgerError } from "../core/index.js";
import { resolveApiOptions, type ApiDeps, type ApiOptions, type AppEnv } from "./context.js";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { HttpBindings } from "@hono/node-server";
import { createRouteTable } from "./admin-routes.js";
import { apiVersion } from "./middleware/api-version.js";
import { authorize } from "./middleware/authorize.js";
import { limitBody } from "./middleware/body-limit.js";
import { observeRequests } from "./middleware/observe.js";
import { requestTimeout } from "./middleware/request-timeout.js";
import { traceAppends } from "./middleware/trace-appends.js";
import { problemResponse } from "./problem-response.js";
import type { HttpMethod, RouteDefinition } from "./routes.js";

/**
 * The HTTP edge of Annal. Pure wiring of ports to routes: no listening here (see
 * `startServer`), so tests drive it in-process with `app.request()`.
 *
 * @example
 * const app = createApp({ ledger, reader, ready, logger, metrics, access: createAuthOff() });
 * const { url, close } = await startServer(app, { port: 8080 });
 */
export function createApp(deps: ApiDeps, options: ApiOptions = {}): Hono<AppEnv> {
  const resolved = resolveApiOptions(options);
  const routes = createRouteTable(deps, resolved);
  const app = new Hono<AppEnv>();

  if (resolved.traceAppends) app.use(traceAppends(deps.metrics));
  app.use(requestId());
  app.use(observeRequests(deps.logger, deps.metrics, resolved.accessLog));
  if (deps.identityProvider !== undefined) mountIdentityProvider(app, deps.identityProvider);
  app.use(apiVersion(resolved.apiVersions));

  // Enforced while streaming: a body past the limit is refused as soon as it is seen,
  // never buffered whole (and a Content-Length over the limit is refused unread).
  const bodyBound = limitBody(resolved.maxBodyBytes, () => {
    throw new LedgerError("ERR_PAYLOAD_TOO_LARGE", `request body exceeds ${resolved.maxBodyBytes} bytes`, { details: { maxBodyBytes: resolved.maxBodyBytes } });
  });
  for (const route of routes) {
    // The bound covers authentication too (an identity provider that does not answer).
    const bound = requestTimeout(resolved.requestTimeoutMs, route.method === "GET" ? "ERR_UNAVAILABLE" : "ERR_OUTCOME_UNKNOWN");
    // Access first: a caller who may not append never gets a body read.
    const guard = authorize(route, deps.access);
    if (route.acceptsBody) app.on(route.method, route.path, bound, guard, bodyBound, route.handler);
    else app.on(route.method, route.path, bound, guard, route.handler);
  }

  const allowedMethods = createMethodLookup(routes);
  app.notFound(function notFound(c) {
    const allow = allowedMethods(c.req.path);
    if (allow.length > 0) {
      return problemResponse(c, new LedgerError("ERR_METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${c.req.path}`, { details: { allow } }));
    }
    return problemResponse(c, new LedgerError("ERR_NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
  });
  app.onError(function onError(error, c) {
    return problemResponse(c, error);
  });
  return app;
}

/**
 * oidc-provider is a Koa app: it gets Node's own request and response, untouched by
 * Hono (it reads the body itself), and answers on them directly. Registered before API
 * version negotiation and auth: OAuth clients speak OAuth, not the Annal API.
 */
function mountIdentityProvider(app: Hono<AppEnv>, provider: NonNullable<ApiDeps["identityProvider"]>): void {
  const handler = async function identityProvider(c: Context<AppEnv & { Bindings: Partial<HttpBindings> }>): Promise<Response> {
    const { incoming, outgoing } = c.env ?? {};
    if (incoming === undefined || outgoing === undefined) {
      throw new LedgerError("ERR_UNAVAILABLE", "the embedded identity provider runs under Node only; configure ANNAL_OIDC_ISSUER");
    }
    const finished = new Promise<void>((resolve) => outgoing.once("close", () => resolve()));
    provider.handle(incoming, outgoing);
    await finished;
    return RESPONSE_ALREADY_SENT;
  };
  app.all(provider.mountPath, handler);
  app.all(`${provider.mountPath}/*`, handler);
}

/**
 * Which methods the table serves for a path, to tell 405 from 404. Hono only knows that
 * nothing matched; the table knows that the path exists under another method.
 */
function createMethodLookup(routes: readonly RouteDefinition[]): (path: string) => string[] {
  const patterns = routes.map((route) => ({
    method: route.method,
    pattern: new RegExp(`^${route.path.split("/").map((segment) => (segment.startsWith(":") ? "[^/]+" : escapeRegExp(segment))).join("/")}$`),
  }));
  return (path) => {
    const methods = new Set<HttpMethod | "HEAD">();
    for (const { method, pattern } of patterns) {
      if (!pattern.test(path)) continue;
      methods.add(method);
      if (method === "GET") methods.add("HEAD");
    }
    return [...methods];
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
