/**
 * Stable error codes. They are part of the API contract: clients and tests match on
 * them, never on message text.
 */
export type LedgerErrorCode =
  | "ERR_INVALID_INPUT"
  | "ERR_INVALID_JSON"
  | "ERR_PAYLOAD_TOO_LARGE"
  | "ERR_UNSUPPORTED_MEDIA_TYPE"
  | "ERR_API_VERSION"
  | "ERR_UNAUTHENTICATED"
  | "ERR_FORBIDDEN"
  | "ERR_METHOD_NOT_ALLOWED"
  | "ERR_EXPECTED_VERSION"
  | "ERR_IDEMPOTENCY_KEY_REUSED"
  | "ERR_IDEMPOTENCY_IN_FLIGHT"
  | "ERR_NOT_FOUND"
  | "ERR_OVERLOADED"
  | "ERR_UNAVAILABLE"
  | "ERR_OUTCOME_UNKNOWN"
  | "ERR_DUPLICATE_EVENT"
  | "ERR_CHAIN_BROKEN"
  | "ERR_LOG_GAP"
  | "ERR_FENCED"
  | "ERR_PROJECTION_FAILED"
  | "ERR_PROJECTION_CHANGED"
  | "ERR_PROJECTION_BEHIND"
  | "ERR_CONFLICT"
  | "ERR_ALREADY_REDACTED"
  | "ERR_STORE_CORRUPT"
  | "ERR_MIGRATION_CHANGED"
  | "ERR_CONFIG"
  | "ERR_ARCHIVE"
  | "ERR_INTERNAL"
  // Key rotation: this instance does not hold the key in force. (Verifiers name a key used
  // outside its window with the codes of src/verify/key-windows.ts: a normal answer there.)
  | "ERR_SIGNING_KEY_UNAVAILABLE"
  // The Kafka relay and the consumer helper (src/relay).
  | "ERR_KAFKA_UNAVAILABLE"
  | "ERR_KAFKA_TOPIC"
  | "ERR_KAFKA_GAP"
  | "ERR_KAFKA_FORK"
  | "ERR_KAFKA_TAMPER"
  // Credential providers (src/secrets): the source did not answer (retriable).
  | "ERR_SECRET_UNAVAILABLE";

/**
 * The one error base of Annal (as jose's JOSEError): a stable `code`, a message for
 * humans, optional structured `details`, and an ES2022 `cause`. No HTTP here: the API
 * edge maps codes to statuses.
 */
export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Whether trying the same operation again may succeed (network, overload). */
  readonly retriable: boolean;

  constructor(
    code: LedgerErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; retriable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LedgerError";
    this.code = code;
    this.details = options.details;
    this.retriable = options.retriable ?? false;
  }
}

export function isLedgerError(value: unknown, code?: LedgerErrorCode): value is LedgerError {
  return value instanceof LedgerError && (code === undefined || value.code === code);
}
