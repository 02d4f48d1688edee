import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isLedgerError, LedgerError, type LedgerErrorCode } from "../core/index.js";
import { isConnectionError } from "../store/postgres/errors.js";
import type { AppEnv } from "./context.js";
import { buildProblem, DEFAULT_RETRY_AFTER_SECONDS, PROBLEM_CONTENT_TYPE, PROBLEMS } from "./problems.js";

/**
 * The one place an error becomes a response (`app.onError`, the not-found and
 * method-not-allowed answers). Server errors are logged here with the request id; the
 * client gets a generic detail and the request id to quote.
 */
export function problemResponse(c: Context<AppEnv>, thrown: unknown): Response {
  const error = asLedgerError(thrown);
  const { status } = PROBLEMS[error.code];
  // Both are set by the first middlewares; typed as present, but absent if those failed.
  const requestId = (c.get("requestId") as string | undefined) ?? "unknown";
  const logger = c.get("logger") as AppEnv["Variables"]["logger"] | undefined;
  if (status >= 500) {
    logger?.error({ err: thrown, code: error.code, requestId }, "request failed");
  } else {
    logger?.debug({ code: error.code, detail: error.message }, "request rejected");
  }
  const body = buildProblem({ code: error.code, detail: error.message, requestId, instance: c.req.path, details: error.details });
  const headers: Record<string, string> = { "Content-Type": PROBLEM_CONTENT_TYPE };
  if (status === 503) headers["Retry-After"] = String(retryAfterSeconds(error));
  if (error.code === "ERR_METHOD_NOT_ALLOWED" && Array.isArray(error.details?.["allow"])) {
    headers["Allow"] = (error.details["allow"] as string[]).join(", ");
  }
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, headers);
}

/** Hono's own exceptions (body limit, malformed requests) by status; anything else is a 500. */
const HTTP_EXCEPTION_CODES: Readonly<Record<number, LedgerErrorCode>> = {
  400: "ERR_INVALID_INPUT",
  404: "ERR_NOT_FOUND",
  405: "ERR_METHOD_NOT_ALLOWED",
  413: "ERR_PAYLOAD_TOO_LARGE",
  415: "ERR_UNSUPPORTED_MEDIA_TYPE",
  503: "ERR_UNAVAILABLE",
};

function asLedgerError(thrown: unknown): LedgerError {
  if (isLedgerError(thrown)) return thrown;
  if (thrown instanceof HTTPException) {
    return new LedgerError(HTTP_EXCEPTION_CODES[thrown.status] ?? "ERR_INTERNAL", thrown.message || "request refused", { cause: thrown });
  }
  // A read that could not reach the database (or waited past its bound): not our bug, 503.
  if (isConnectionError(thrown)) return new LedgerError("ERR_UNAVAILABLE", "the database did not answer", { cause: thrown, retriable: true });
  return new LedgerError("ERR_INTERNAL", "unexpected error", { cause: thrown });
}

function retryAfterSeconds(error: LedgerError): number {
  const hinted = error.details?.["retryAfterSeconds"];
  return typeof hinted === "number" && Number.isInteger(hinted) && hinted > 0 ? hinted : DEFAULT_RETRY_AFTER_SECONDS;
}
