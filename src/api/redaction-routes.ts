import { LedgerError } from "../core/index.js";
import type { Redactor } from "../ledger/redaction.js";
import type { ApiDeps } from "./context.js";
import { readJsonBody } from "./json-body.js";
import { integerPathParameter } from "./query.js";
import { checkpointJson } from "./representations.js";
import type { RouteDefinition } from "./routes.js";

const MAX_REASON_LENGTH = 500;

/**
 * `POST /admin/events/{position}/redact`: removes one event's payload and keeps its
 * hashes, recorded as a `PayloadRedacted` event in `annal:redactions` (docs/verification.md
 * section 4). Needs `admin:*`. Without a redactor wired the route answers 503.
 */
export function createRedactionRoutes(deps: Pick<ApiDeps, "logger"> & { redactor?: Redactor | undefined }): RouteDefinition[] {
  return [
    {
      method: "POST",
      path: "/admin/events/:position/redact",
      permission: "admin:*",
      acceptsBody: true,
      async handler(c) {
        const position = integerPathParameter(c.req.param("position") ?? "", "position");
        if (position < 1) throw new LedgerError("ERR_INVALID_INPUT", "position starts at 1", { details: { parameter: "position" } });
        const body = await readJsonBody(c, 4);
        const reason = parseReason(body);
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
    },
  ];
}

function parseReason(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new LedgerError("ERR_INVALID_INPUT", "body must be a JSON object", { details: { pointer: "" } });
  for (const key of Object.keys(body)) if (key !== "reason") throw new LedgerError("ERR_INVALID_INPUT", `unknown member ${key}`, { details: { pointer: `/${key}` } });
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== "string" || reason.length === 0 || reason.length > MAX_REASON_LENGTH || !reason.isWellFormed()) {
    throw new LedgerError("ERR_INVALID_INPUT", `reason must be a string of 1 to ${MAX_REASON_LENGTH} characters`, { details: { pointer: "/reason" } });
  }
  return reason;
}
