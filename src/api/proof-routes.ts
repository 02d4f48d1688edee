import { Type } from "@sinclair/typebox";
import { accepts } from "hono/accepts";
import { LedgerError, toBase64 } from "../core/index.js";
import type { CheckpointView } from "../ledger/types.js";
import { RECEIPT_FORMAT, type EventReceipt as EventReceiptJson } from "../verify/receipt.js";
import type { ApiDeps } from "./context.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { checkpointJson, eventJson } from "./representations.js";
import { defineRoute, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Checkpoint, ConsistencyProof, EventReceipt, InclusionProof, Problem, SafeInteger, Text } from "./schemas.js";

const problem = (description: string): ResponseSpec => ({ description, content: { [PROBLEM_CONTENT_TYPE]: Problem } });
const common = {
  400: problem("A parameter beyond the tree (`ERR_INVALID_INPUT`)."),
  404: problem("No checkpoint of that tree size, or no event at that position (`ERR_NOT_FOUND`)."),
};
const size = (description: string) => SafeInteger({ minimum: 1, description });

/**
 * Proof, checkpoint and receipt routes for auditors: everything they return verifies
 * with `annal/verify` and the ledger's public key alone. Sizes are checkpointed sizes,
 * so every root a proof leads to is one the ledger signed.
 */
export function createProofRoutes(deps: Pick<ApiDeps, "reader" | "proofs">): RouteDefinition[] {
  const { reader, proofs } = deps;

  async function latest(): Promise<CheckpointView> {
    const checkpoint = await reader.latestCheckpoint();
    if (checkpoint === undefined) throw new LedgerError("ERR_NOT_FOUND", "no checkpoint has been signed yet");
    return checkpoint;
  }

  async function checkpointOfSize(treeSize: number): Promise<CheckpointView> {
    const checkpoint = await proofs.checkpointAt(treeSize);
    if (checkpoint === undefined) throw new LedgerError("ERR_NOT_FOUND", `no checkpoint of tree size ${treeSize}`, { details: { treeSize } });
    return checkpoint;
  }

  /** The checkpoint of `treeSize`, or the latest when absent; 404 when that size was never checkpointed. */
  const checkpointFor = (treeSize: number | undefined) => (treeSize === undefined ? latest() : checkpointOfSize(treeSize));

  return [
    defineRoute({
      method: "GET",
      path: "/proofs/inclusion",
      permission: "audit:read",
      operationId: "inclusionProof",
      tags: ["audit"],
      summary: "RFC 9162 inclusion proof of an event in a checkpoint",
      description:
        "The audit path of the event at `position` (leaf index `position - 1`) in the tree of a signed checkpoint. Verify with `annal/verify` `verifyInclusion` against the root of a checkpoint whose signature you checked.",
      request: { query: Type.Object({ position: size("Position of the event."), treeSize: Type.Optional(size("A checkpointed tree size >= position; default the latest checkpoint.")) }) },
      responses: { 200: { description: "The proof.", content: { "application/json": InclusionProof } }, ...common },
      async handle(c, { query: { position, treeSize } }) {
        const checkpoint = await checkpointFor(treeSize);
        if (position > checkpoint.treeSize) {
          throw new LedgerError("ERR_INVALID_INPUT", `position ${position} is beyond the tree of size ${checkpoint.treeSize}`, { details: { parameter: "position", treeSize: checkpoint.treeSize } });
        }
        const auditPath = await proofs.inclusionProof(position - 1, checkpoint.treeSize);
        return c.json({ leafIndex: position - 1, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, auditPath: auditPath.map(toBase64) });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/proofs/consistency",
      permission: "audit:read",
      operationId: "consistencyProof",
      tags: ["audit"],
      summary: "RFC 9162 consistency proof between two tree sizes",
      description: "Proves that the tree of size `to` (a checkpointed size) extends the tree of size `from` without rewriting it.",
      request: { query: Type.Object({ from: size("The earlier tree size (1..to)."), to: Type.Optional(size("A checkpointed tree size; default the latest checkpoint.")) }) },
      responses: { 200: { description: "The proof.", content: { "application/json": ConsistencyProof } }, ...common },
      async handle(c, { query }) {
        const to = await checkpointFor(query.to);
        if (query.from > to.treeSize) {
          throw new LedgerError("ERR_INVALID_INPUT", `from ${query.from} is larger than to ${to.treeSize}`, { details: { parameter: "from", treeSize: to.treeSize } });
        }
        const path = await proofs.consistencyProof(query.from, to.treeSize);
        return c.json({ from: query.from, to: to.treeSize, path: path.map(toBase64) });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/checkpoints",
      permission: "audit:read",
      operationId: "checkpointAt",
      tags: ["audit"],
      summary: "The signed checkpoint of a tree size",
      description: "JSON by default; with `Accept: text/plain` the C2SP signed note itself, witness cosignatures included.",
      request: { query: Type.Object({ treeSize: size("A checkpointed tree size.") }) },
      responses: {
        200: { description: "The checkpoint.", content: { "application/json": Checkpoint, "text/plain": Text("C2SP signed note.") } },
        404: common[404],
      },
      async handle(c, { query: { treeSize } }) {
        const checkpoint = await checkpointOfSize(treeSize);
        const type = accepts(c, { header: "Accept", supports: ["application/json", "text/plain"], default: "application/json" });
        c.header("Vary", "Accept", { append: true });
        if (type === "text/plain") return c.text(checkpoint.note);
        return c.json(checkpointJson(checkpoint));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/events/:position/receipt",
      permission: "audit:read",
      operationId: "eventReceipt",
      tags: ["audit"],
      summary: "A stand-alone receipt for one event",
      description:
        "The full event, its inclusion proof and the latest signed checkpoint: a JSON document that verifies offline with only the ledger's public key (`annal verify-receipt`, or `verifyReceipt` of `annal/verify`).",
      request: { params: Type.Object({ position: SafeInteger() }) },
      responses: { 200: { description: "The receipt.", content: { "application/json": EventReceipt } }, 404: common[404] },
      async handle(c, { params: { position } }) {
        const record = await reader.readEvent(position);
        if (record === undefined) throw new LedgerError("ERR_NOT_FOUND", `no event at position ${position}`, { details: { position } });
        // Read after the event: the checkpoint of its own batch committed with it, so the
        // latest one covers it.
        const checkpoint = await latest();
        const auditPath = await proofs.inclusionProof(position - 1, checkpoint.treeSize);
        const key = (await reader.publicKeys()).find((k) => k.keyId === record.keyId);
        const receipt: EventReceiptJson = {
          format: RECEIPT_FORMAT,
          event: eventJson(record),
          inclusionProof: { leafIndex: position - 1, treeSize: checkpoint.treeSize, auditPath: auditPath.map(toBase64) },
          checkpoint: checkpointJson(checkpoint),
          ...(key ? { publicKey: key.noteVerifierKey } : {}),
        };
        return c.json(receipt);
      },
    }),
  ];
}
