import { Type } from "@sinclair/typebox";
import { LedgerError } from "../core/index.js";
import type { KeyRotation } from "../ledger/index.js";
import type { ApiDeps } from "./context.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { checkpointJson } from "./representations.js";
import { defineRoute, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Checkpoint, Problem, ReceiptEvent, SafeInteger } from "./schemas.js";

const problem = (description: string): ResponseSpec => ({ description, content: { [PROBLEM_CONTENT_TYPE]: Problem } });

const KeyRotated = Type.Object(
  {
    position: SafeInteger({ description: "Position of the KeyRotated event: the last position the previous key signs." }),
    fromPosition: SafeInteger({ description: "The first position the new key signs." }),
    previousKeyId: Type.String(),
    newKeyId: Type.String(),
    event: ReceiptEvent,
    checkpoint: Checkpoint,
  },
  { additionalProperties: false },
);

/** What the key routes need: the ledger's rotation (undefined: this server cannot rotate). */
export interface KeyAdmin {
  rotate(): Promise<KeyRotation>;
}

/**
 * `POST /admin/keys/rotate`: puts ANNAL_NEXT_SIGNING_KEY in force from the next position,
 * recorded as a `KeyRotated` event in `annal:keys` signed by both keys (docs/operations.md
 * "Key rotation"). Needs `admin:*`.
 */
export function createKeyRoutes(deps: Pick<ApiDeps, "logger"> & { keys?: KeyAdmin | undefined }): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      path: "/admin/keys/rotate",
      permission: "admin:*",
      operationId: "rotateKey",
      tags: ["admin"],
      summary: "Rotate the ledger signing key",
      description:
        "Appends a `KeyRotated` event to stream `annal:keys`: signed, as every event, by the key in force, and carrying the next key's signature over the rotation statement. The previous key's window ends at that event; the next key (`ANNAL_NEXT_SIGNING_KEY` of this instance) signs from the following position. Checkpoints carry both signatures for `ANNAL_KEY_OVERLAP_SECONDS`.",
      responses: {
        200: { description: "Rotated: the event, the new window and the checkpoint covering the event.", content: { "application/json": KeyRotated } },
        409: problem("No next key on this server, or the next key is already in force or was in force before (`ERR_CONFLICT`)."),
        503: problem("This server does not hold the key in force (`ERR_SIGNING_KEY_UNAVAILABLE`), or the database is unavailable."),
      },
      async handle(c) {
        if (deps.keys === undefined) throw new LedgerError("ERR_UNAVAILABLE", "key rotation is not available on this server");
        const rotation = await deps.keys.rotate();
        c.get("logger").warn({ position: rotation.position, previousKeyId: rotation.previousKeyId, newKeyId: rotation.newKeyId, actor: c.get("principal").subject }, "signing key rotated");
        return c.json({
          position: rotation.position,
          fromPosition: rotation.fromPosition,
          previousKeyId: rotation.previousKeyId,
          newKeyId: rotation.newKeyId,
          event: rotation.receipt.events[0]!,
          checkpoint: checkpointJson(rotation.receipt.checkpoint),
        });
      },
    }),
  ];
}
