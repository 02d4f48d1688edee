import type pg from "pg";
import { isLedgerError, KEYS_STREAM, LedgerError, toBase64 } from "../core/index.js";
import type { CheckpointView, Ledger, ReceiptEvent } from "./types.js";

/** The system stream that records every redaction; appends to `annal:*` over HTTP are refused. */
export const REDACTION_STREAM = "annal:redactions";
export const REDACTION_EVENT_TYPE = "PayloadRedacted";
const REDACTION_PRINCIPAL = "annal:redaction";

export interface RedactionResult {
  position: number;
  eventId: string;
  streamId: string;
  /** The data hash the event keeps: the chain and every signature still verify. */
  dataHash: string;
  /** The `PayloadRedacted` event that records the redaction in the log. */
  record: ReceiptEvent;
  checkpoint: CheckpointView;
}

export interface Redactor {
  /**
   * Removes one event's payload (data and salt) and keeps its header and hashes.
   * MUST record the redaction in the log before the payload is deleted, so no payload
   * ever disappears without a signed record of who removed it.
   */
  redact(position: number, by: { actor: string; reason?: string }): Promise<RedactionResult>;
}

/**
 * Redaction on PostgreSQL: append `PayloadRedacted` {position, eventId, streamId,
 * dataHash} to `annal:redactions` through the ledger (the one writer), then DELETE the
 * payload row (the only change the schema allows to annal.payloads). The append is
 * idempotent per position, so a retry after a crash between the two steps finishes the
 * job without a second record.
 */
export function createPostgresRedactor(pool: pg.Pool, ledger: Ledger): Redactor {
  return {
    async redact(position, by) {
      const { rows } = await pool.query<{ event_id: string; stream_id: string; data_hash: Buffer; has_payload: boolean }>(
        `SELECT e.event_id::text AS event_id, e.stream_id, e.data_hash, p.position IS NOT NULL AS has_payload
         FROM annal.events e LEFT JOIN annal.payloads p ON p.position = e.position
         WHERE e.position = $1 AND e.position <= (SELECT position FROM annal.durable_head WHERE id = 1)`,
        [position],
      );
      const row = rows[0];
      if (!row) throw new LedgerError("ERR_NOT_FOUND", `no event at position ${position}`, { details: { position } });
      if (!row.has_payload) throw new LedgerError("ERR_ALREADY_REDACTED", `the payload of position ${position} is already redacted`, { details: { position } });
      if (row.stream_id === REDACTION_STREAM) {
        throw new LedgerError("ERR_INVALID_INPUT", "a redaction record cannot itself be redacted", { details: { position } });
      }
      // Verifiers follow keys through KeyRotated data: without it they could not.
      if (row.stream_id === KEYS_STREAM) throw new LedgerError("ERR_INVALID_INPUT", "a key rotation record cannot be redacted", { details: { position } });
      const dataHash = toBase64(new Uint8Array(row.data_hash));
      const data = { position, eventId: row.event_id, streamId: row.stream_id, dataHash };
      let receipt;
      try {
        receipt = await ledger.append({
          streamId: REDACTION_STREAM,
          events: [{ type: REDACTION_EVENT_TYPE, data, metadata: { actor: by.actor, ...(by.reason !== undefined ? { reason: by.reason } : {}) } }],
          idempotencyKey: `redact:${position}`,
          principal: REDACTION_PRINCIPAL,
        });
      } catch (error) {
        // Another redaction of this position was recorded (with another actor or reason)
        // and its payload delete has not run yet: finish it, and say it was not this one.
        if (isLedgerError(error, "ERR_IDEMPOTENCY_KEY_REUSED")) {
          await pool.query("DELETE FROM annal.payloads WHERE position = $1", [position]);
          throw new LedgerError("ERR_ALREADY_REDACTED", `position ${position} was already redacted by an earlier request`, { details: { position } });
        }
        throw error;
      }
      await pool.query("DELETE FROM annal.payloads WHERE position = $1", [position]);
      return { position, eventId: row.event_id, streamId: row.stream_id, dataHash, record: receipt.events[0]!, checkpoint: receipt.checkpoint };
    },
  };
}
