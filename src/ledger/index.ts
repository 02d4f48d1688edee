export { registerSigningKey } from "./batch-store.js";
export { createPostgresLedger, type InlineWork, type LedgerDeps, type LedgerOptions, type LedgerStats } from "./postgres-ledger.js";
export { assertAppendRequest, IDEMPOTENCY_KEY_PATTERN, isExpectedVersion, MAX_EVENTS_PER_APPEND } from "./validate.js";
export type { AppendEventInput, AppendRequest, CheckpointView, ExpectedVersion, KeyRotation, Ledger, LedgerReader, PublicKeyInfo, Receipt, ReceiptEvent } from "./types.js";
