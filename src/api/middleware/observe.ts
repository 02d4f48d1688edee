import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import type { AppEnv } from "../context.js";

const LABELS = ["method", "route", "status"] as const;

/**
 * Request metrics and, when `accessLog` is on (ANNAL_ACCESS_LOG=1), the access log: one
 * info line per request. Off by default: at thousands of appends a second a line per
 * request costs more than the append's own work, and metrics already count them. Runs
 * first, so it sees the final status of every response, including the ones the error
 * renderer and the not-found handler produce.
 *
 * Labels use the matched route pattern, never the raw path: stream ids and positions
 * in a label would grow the series without bound.
 */
export function observeRequests(logger: Logger, registry: Registry, accessLog = false): MiddlewareHandler<AppEnv> {
  const requests = reuseOrRegister(registry, "annal_http_requests_total", () =>
    new Counter({ name: "annal_http_requests_total", help: "HTTP requests answered, by route pattern and status.", labelNames: LABELS, registers: [registry] }),
  );
  const duration = reuseOrRegister(registry, "annal_http_request_duration_seconds", () =>
    new Histogram({
      name: "annal_http_request_duration_seconds",
      help: "HTTP request duration in seconds, by route pattern and status.",
      labelNames: LABELS,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  );
  return async function observeRequests(c, next) {
    const started = performance.now();
    const requestLogger = logger.child({ requestId: c.get("requestId") });
    c.set("logger", requestLogger);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route: routePatternOf(c), status: String(c.res.status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
    if (accessLog) requestLogger.info({ method: c.req.method, route: labels.route, path: c.req.path, status: c.res.status, durationMs: Math.round(seconds * 1e4) / 10 }, "request completed");
  };
}

// Two apps on one registry (tests, or an admin app beside the public one) share the
// metric objects instead of failing with "already registered".
function reuseOrRegister<T extends Counter<(typeof LABELS)[number]> | Histogram<(typeof LABELS)[number]>>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** The pattern of the endpoint that matched (middleware registers as ALL), or `unmatched`. */
function routePatternOf(c: Context): string {
  const endpoint = matchedRoutes(c).findLast((route) => route.method !== "ALL");
  return endpoint?.path ?? "unmatched";
}
