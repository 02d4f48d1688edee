import { Type } from "@sinclair/typebox";
import { LedgerError } from "../core/index.js";
import type { Redactor } from "../ledger/redaction.js";
import type { ApiDeps } from "./context.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { checkpointJson } from "./representations.js";
import { defineRoute, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Checkpoint, Problem, SafeInteger } from "./schemas.js";

const MAX_REASON_LENGTH = 500;
const problem = (description: string): ResponseSpec => ({ description, content: { [PROBLEM_CONTENT_TYPE]: Problem } });

const RedactRequest = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH, description: "Why (recorded in the log)." })) },
  { additionalProperties: false },
);
const Redacted = Type.Object(
  {
    position: SafeInteger(),
    eventId: Type.String(),
    streamId: Type.String(),
    dataHash: Type.String(),
    redaction: Type.Object({ position: SafeInteger(), streamVersion: SafeInteger(), eventId: Type.String(), hash: Type.String(), keyId: Type.String(), signature: Type.String() }),
    checkpoint: Checkpoint,
  },
  { additionalProperties: false },
);

/**
 * `POST /admin/events/{position}/redact`: removes one event's payload and keeps its
 * hashes, recorded as a `PayloadRedacted` event in `annal:redactions` (docs/verification.md
 * section 4). Needs `admin:*`. Without a redactor wired the route answers 503.
 */
export function createRedactionRoutes(deps: Pick<ApiDeps, "logger"> & { redactor?: Redactor | undefined }): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      path: "/admin/events/:position/redact",
      permission: "admin:*",
      operationId: "redactPayload",
      tags: ["admin"],
      summary: "Redact one event's payload",
      description:
        "Deletes the event's data and salt and keeps its hashes, so the chain, proofs and receipts still verify. Recorded first as a `PayloadRedacted` event in stream `annal:redactions` (who, why, which event, its dataHash).",
      request: { params: Type.Object({ position: SafeInteger({ minimum: 1 }) }), body: RedactRequest },
      maxJsonDepth: 4,
      responses: {
        200: { description: "Redacted; the redaction record and the checkpoint covering it.", content: { "application/json": Redacted } },
        404: problem("No event at that position (`ERR_NOT_FOUND`)."),
        409: problem("Already redacted, or a redaction record itself (`ERR_ALREADY_REDACTED`)."),
        413: problem("Body too large (`ERR_PAYLOAD_TOO_LARGE`)."),
        415: problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`)."),
      },
      async handle(c, { params: { position }, body }) {
        if (deps.redactor === undefined) throw new LedgerError("ERR_UNAVAILABLE", "redaction is not configured on this server");
        const reason = body.reason;
        if (reason !== undefined && !reason.isWellFormed()) throw new LedgerError("ERR_INVALID_INPUT", "reason must be well-formed Unicode", { details: { pointer: "/reason" } });
        const actor = c.get("principal").subject;
        const result = await deps.redactor.redact(position, { actor, ...(reason !== undefined ? { reason } : {}) });
        c.get("logger").warn({ position, actor, redactionPosition: result.record.position }, "payload redacted");
        return c.json({
          position: result.position,
          eventId: result.eventId,
          streamId: result.streamId,
          dataHash: result.dataHash,
          redaction: {
            position: result.record.position,
            streamVersion: result.record.streamVersion,
            eventId: result.record.eventId,
            hash: result.record.hash,
            keyId: result.record.keyId,
            signature: result.record.signature,
          },
          checkpoint: checkpointJson(result.checkpoint),
        });
      },
    }),
  ];
}
