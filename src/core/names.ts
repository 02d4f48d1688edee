// Input rules for identifiers that end up in hashed headers, URLs and Kafka keys.
// Narrow on purpose: easier to widen later than to migrate ids that broke a consumer.

/** Stream ids: 1-200 chars of [A-Za-z0-9._:@-], starting with a letter or digit. `payments-42`. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;
/** Event types: past-tense names such as `PaymentCaptured` or `billing.InvoiceIssued`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9._:-]{0,127}$/;
/** Event ids: RFC 9562 UUID text, lowercase. */
export const EVENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isValidStreamId(value: unknown): value is string {
  return typeof value === "string" && STREAM_ID_PATTERN.test(value);
}

export function isValidEventType(value: unknown): value is string {
  return typeof value === "string" && EVENT_TYPE_PATTERN.test(value);
}

export function isValidEventId(value: unknown): value is string {
  return typeof value === "string" && EVENT_ID_PATTERN.test(value);
}
