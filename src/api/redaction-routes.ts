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
const Base64 = (description: string) => Type.String({ contentEncoding: "base64", description });

const RedactRequest = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH, description: "Why; recorded in the PayloadRedacted event." })) },
  { $id: "RedactRequest", additionalProperties: false },
);

const Redaction = Type.Object(
  {
    position: SafeInteger(),
    eventId: Type.String(),
    streamId: Type.String(),
    dataHash: Base64("The redacted event's data hash, kept: the chain still verifies."),
    redaction: Type.Object(
      { position: SafeInteger(), streamVersion: SafeInteger(), eventId: Type.String(), hash: Base64("32 bytes."), keyId: Type.String(), signature: Base64("Ed25519 signature over `hash`.") },
      { additionalProperties: false, description: "The PayloadRedacted event recorded in `annal:redactions`." },
    ),
    checkpoint: Checkpoint,
  },
  { $id: "Redaction", additionalProperties: false },
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
        "Removes the event's data and salt and keeps every hash, so the chain, the checkpoints and the proofs still verify; recorded as a `PayloadRedacted` event in `annal:redactions` (docs/verification.md section 4).",
      request: { params: Type.Object({ position: SafeInteger({ minimum: 1 }) }), body: RedactRequest },
      maxJsonDepth: 4,
      responses: {
        200: { description: "Redacted.", content: { "application/json": Redaction } },
        404: problem("No event at that position (`ERR_NOT_FOUND`)."),
        409: problem("The payload is already redacted (`ERR_ALREADY_REDACTED`)."),
        413: problem("Body too large (`ERR_PAYLOAD_TOO_LARGE`)."),
        415: problem("Body is not `application/json` (`ERR_UNSUPPORTED_MEDIA_TYPE`)."),
      },
      async handle(c, { params: { position }, body: { reason } }) {
        if (deps.redactor === undefined) throw new LedgerError("ERR_UNAVAILABLE", "redaction is not configured on this server");
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
