import type { LedgerErrorCode } from "../core/index.js";

/** RFC 9457 problem types are URIs; ours are stable and documented, one per error code. */
export const PROBLEM_BASE_URI = "https://annal.dev/problems/";

export interface ProblemType {
  status: number;
  /** Last segment of the problem `type` URI. */
  slug: string;
  title: string;
}

/**
 * The one table from error code to HTTP status and problem type.
 *
 * Exhaustive on purpose (`Record<LedgerErrorCode, …>`): a new code does not compile until
 * someone decides how it looks on the wire, so no code silently becomes a 500.
 */
export const PROBLEMS: Readonly<Record<LedgerErrorCode, ProblemType>> = {
  ERR_INVALID_INPUT: { status: 400, slug: "invalid-input", title: "Invalid input" },
  ERR_INVALID_JSON: { status: 400, slug: "invalid-json", title: "Invalid JSON" },
  ERR_API_VERSION: { status: 400, slug: "api-version", title: "Unsupported API version" },
  ERR_UNAUTHENTICATED: { status: 401, slug: "unauthenticated", title: "Authentication required" },
  ERR_FORBIDDEN: { status: 403, slug: "forbidden", title: "Not allowed" },
  ERR_NOT_FOUND: { status: 404, slug: "not-found", title: "Not found" },
  ERR_METHOD_NOT_ALLOWED: { status: 405, slug: "method-not-allowed", title: "Method not allowed" },
  ERR_EXPECTED_VERSION: { status: 409, slug: "expected-version", title: "Stream version does not match the expected version" },
  ERR_DUPLICATE_EVENT: { status: 409, slug: "duplicate-event", title: "An event with this eventId already exists" },
  ERR_ALREADY_REDACTED: { status: 409, slug: "already-redacted", title: "The event's payload is already redacted" },
  ERR_IDEMPOTENCY_IN_FLIGHT: { status: 409, slug: "idempotency-in-flight", title: "A request with this idempotency key is in progress" },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, slug: "payload-too-large", title: "Request body too large" },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, slug: "unsupported-media-type", title: "Unsupported media type" },
  ERR_IDEMPOTENCY_KEY_REUSED: { status: 422, slug: "idempotency-key-reused", title: "Idempotency key reused with a different request" },
  ERR_CONFLICT: { status: 409, slug: "conflict", title: "The request conflicts with the current state" },
  ERR_CHAIN_BROKEN: { status: 500, slug: "internal", title: "Internal error" },
  ERR_LOG_GAP: { status: 500, slug: "internal", title: "Internal error" },
  ERR_FENCED: { status: 500, slug: "internal", title: "Internal error" },
  ERR_PROJECTION_FAILED: { status: 500, slug: "internal", title: "Internal error" },
  ERR_PROJECTION_CHANGED: { status: 500, slug: "internal", title: "Internal error" },
  // Its own type and title (5xx details stay generic): an operator must tell a corrupted
  // store from a bug, and a client that the server refused to serve an unverifiable proof.
  ERR_STORE_CORRUPT: { status: 500, slug: "store-corrupt", title: "Stored state is corrupt" },
  ERR_MIGRATION_CHANGED: { status: 500, slug: "internal", title: "Internal error" },
  ERR_ARCHIVE: { status: 500, slug: "internal", title: "Internal error" },
  ERR_CONFIG: { status: 500, slug: "internal", title: "Internal error" },
  ERR_INTERNAL: { status: 500, slug: "internal", title: "Internal error" },
  ERR_PROJECTION_BEHIND: { status: 503, slug: "projection-behind", title: "The read model has not reached the requested position yet" },
  // The key in force (read under the chain-head lock) is not one this instance holds: it
  // refuses to append rather than sign with a retired key. Another instance may hold it.
  ERR_SIGNING_KEY_UNAVAILABLE: { status: 503, slug: "signing-key-unavailable", title: "This instance does not hold the signing key in force" },
  ERR_OVERLOADED: { status: 503, slug: "overloaded", title: "Service overloaded" },
  ERR_UNAVAILABLE: { status: 503, slug: "unavailable", title: "Service unavailable" },
  // Not ERR_UNAVAILABLE: that one promises nothing happened; this one says "maybe", so
  // the client must retry with the same Idempotency-Key (which resolves it exactly once).
  ERR_OUTCOME_UNKNOWN: { status: 503, slug: "outcome-unknown", title: "Outcome unknown; retry with the same Idempotency-Key" },
  // Kafka relay and consumer errors never come from an HTTP request; an internal error if one did.
  ERR_KAFKA_UNAVAILABLE: { status: 500, slug: "internal", title: "Internal error" },
  ERR_KAFKA_TOPIC: { status: 500, slug: "internal", title: "Internal error" },
  ERR_KAFKA_GAP: { status: 500, slug: "internal", title: "Internal error" },
  ERR_KAFKA_FORK: { status: 500, slug: "internal", title: "Internal error" },
  ERR_KAFKA_TAMPER: { status: 500, slug: "internal", title: "Internal error" },
  // A credential source (Vault, a secret file) did not answer: the service is degraded, retry later.
  ERR_SECRET_UNAVAILABLE: { status: 503, slug: "unavailable", title: "Service unavailable" },
};

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Seconds a client should wait after a 503 when the error does not say. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** Members a problem body always defines; `details` from an error never override them. */
const RESERVED_MEMBERS = new Set(["type", "title", "status", "detail", "instance", "code", "requestId"]);

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: LedgerErrorCode;
  instance?: string;
  requestId: string;
  [extension: string]: unknown;
}

export function problemTypeUri(code: LedgerErrorCode): string {
  return PROBLEM_BASE_URI + PROBLEMS[code].slug;
}

/**
 * Builds the RFC 9457 body for an error code. Server errors (5xx) get a generic detail
 * and no extension members: their messages and details can name internals (SQL, paths,
 * key ids) that a client has no use for; the log line carries them instead.
 */
export function buildProblem(input: {
  code: LedgerErrorCode;
  detail: string;
  requestId: string;
  instance?: string;
  details?: Readonly<Record<string, unknown>> | undefined;
}): ProblemBody {
  const problem = PROBLEMS[input.code];
  const serverError = problem.status >= 500;
  const body: ProblemBody = {
    type: problemTypeUri(input.code),
    title: problem.title,
    status: problem.status,
    detail: serverError ? genericDetail(problem.status, input.code) : input.detail,
    code: input.code,
    requestId: input.requestId,
  };
  if (input.instance !== undefined) body.instance = input.instance;
  if (!serverError && input.details) {
    for (const [key, value] of Object.entries(input.details)) {
      if (!RESERVED_MEMBERS.has(key) && isJsonSafe(value)) body[key] = value;
    }
  }
  return body;
}

function genericDetail(status: number, code: LedgerErrorCode): string {
  if (code === "ERR_OUTCOME_UNKNOWN") return "The request may or may not have taken effect; retry it with the same Idempotency-Key.";
  return status === 503 ? "The service cannot take this request now; retry later." : "An internal error occurred; quote the requestId when reporting it.";
}

/** Extension values end up in JSON.stringify: a bigint or cycle there would turn a 4xx into a crash. */
function isJsonSafe(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}
