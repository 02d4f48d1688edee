import { PROBLEM_CONTENT_TYPE } from "./problems.js";

// OpenAPI operations and schemas of the auditor routes (proof-routes.ts), merged into
// the document by openapi.ts; the route-table test keeps both in step.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string): JsonObject => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref("Problem") } } });
const json = (description: string, schema: JsonObject): JsonObject => ({ description, content: { "application/json": { schema } } });
const common: JsonObject = {
  "400": problem("Invalid input (`ERR_INVALID_INPUT`): a missing or malformed parameter, or a position beyond the tree."),
  "404": problem("No checkpoint of that tree size, or no event at that position (`ERR_NOT_FOUND`)."),
  "500": problem("Internal error; the detail is generic, quote `requestId`."),
  "503": problem("Overloaded or unavailable (`ERR_OVERLOADED`, `ERR_UNAVAILABLE`); see `Retry-After`."),
};
const size = (name: string, description: string, required = false): JsonObject => ({ name, in: "query", required, description, schema: { type: "integer", minimum: 1 } });
const hashes: JsonObject = { type: "array", items: { type: "string", contentEncoding: "base64", description: "32 bytes." } };

export function proofOperations(): Record<string, JsonObject> {
  return {
    "GET /proofs/inclusion": {
      operationId: "inclusionProof",
      tags: ["audit"],
      summary: "RFC 9162 inclusion proof of an event in a checkpoint",
      description: "The audit path of the event at `position` (leaf index `position - 1`) in the tree of a signed checkpoint. Verify with `annal/verify` `verifyInclusion` against the root of a checkpoint whose signature you checked.",
      "x-permission": "audit:read",
      parameters: [size("position", "Position of the event.", true), size("treeSize", "A checkpointed tree size >= position; default the latest checkpoint.")],
      responses: { "200": json("The proof.", ref("InclusionProof")), ...common },
    },
    "GET /proofs/consistency": {
      operationId: "consistencyProof",
      tags: ["audit"],
      summary: "RFC 9162 consistency proof between two tree sizes",
      description: "Proves that the tree of size `to` (a checkpointed size) extends the tree of size `from` without rewriting it.",
      "x-permission": "audit:read",
      parameters: [size("from", "The earlier tree size (1..to).", true), size("to", "A checkpointed tree size; default the latest checkpoint.")],
      responses: { "200": json("The proof.", ref("ConsistencyProof")), ...common },
    },
    "GET /checkpoints": {
      operationId: "checkpointAt",
      tags: ["audit"],
      summary: "The signed checkpoint of a tree size, or a page of checkpoints",
      description:
        "With `treeSize`: that checkpoint, JSON by default; with `Accept: text/plain` the C2SP signed note itself, witness cosignatures included. " +
        "Without `treeSize`: a page `{checkpoints, nextTreeSize}` of the checkpoints with tree size >= `fromTreeSize`, ascending; continue from `nextTreeSize`. " +
        "A page shorter than `limit` reached the latest checkpoint at the time of the request.",
      "x-permission": "audit:read",
      parameters: [
        size("treeSize", "A checkpointed tree size (one checkpoint); not with fromTreeSize or limit."),
        size("fromTreeSize", "Smallest tree size of the page (default 1)."),
        { name: "limit", in: "query", required: false, description: "Checkpoints per page (default 100, at most the server's read limit, 1000 by default).", schema: { type: "integer", minimum: 1 } },
      ],
      responses: {
        "200": {
          description: "The checkpoint, or a page of checkpoints.",
          content: { "application/json": { schema: { oneOf: [ref("Checkpoint"), ref("CheckpointPage")] } }, "text/plain": { schema: { type: "string", description: "C2SP signed note." } } },
        },
        ...common,
      },
    },
    "GET /events/{position}/receipt": {
      operationId: "eventReceipt",
      tags: ["audit"],
      summary: "A stand-alone receipt for one event",
      description: "The full event, its inclusion proof and the latest signed checkpoint: a JSON document that verifies offline with only the ledger's public key (`annal verify-receipt`, or `verifyReceipt` of `annal/verify`).",
      "x-permission": "audit:read",
      parameters: [{ name: "position", in: "path", required: true, schema: { type: "integer", minimum: 0 } }],
      responses: { "200": json("The receipt.", ref("EventReceipt")), ...common },
    },
  };
}

export function proofSchemas(): Record<string, JsonObject> {
  const safeInteger = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
  const hash = { type: "string", contentEncoding: "base64", description: "32 bytes." };
  return {
    InclusionProof: {
      type: "object",
      required: ["leafIndex", "treeSize", "rootHash", "auditPath"],
      additionalProperties: false,
      properties: { leafIndex: safeInteger, treeSize: safeInteger, rootHash: hash, auditPath: hashes },
    },
    ConsistencyProof: {
      type: "object",
      required: ["from", "to", "path"],
      additionalProperties: false,
      properties: { from: safeInteger, to: safeInteger, path: hashes },
    },
    CheckpointPage: {
      type: "object",
      required: ["checkpoints", "nextTreeSize"],
      additionalProperties: false,
      properties: { checkpoints: { type: "array", items: ref("Checkpoint") }, nextTreeSize: safeInteger },
    },
    EventReceipt: {
      type: "object",
      required: ["format", "event", "inclusionProof", "checkpoint"],
      additionalProperties: false,
      properties: {
        format: { const: "annal-receipt/v1" },
        event: ref("EventRecord"),
        inclusionProof: {
          type: "object",
          required: ["leafIndex", "treeSize", "auditPath"],
          additionalProperties: false,
          properties: { leafIndex: safeInteger, treeSize: safeInteger, auditPath: hashes },
        },
        checkpoint: ref("Checkpoint"),
        publicKey: { type: "string", description: "The ledger's C2SP verifier key, as a hint: verifiers use their own copy." },
      },
    },
  };
}
