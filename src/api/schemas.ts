import { Type, type TSchema } from "@sinclair/typebox";
import { EVENT_ID_PATTERN, EVENT_TYPE_PATTERN, STREAM_ID_PATTERN } from "../core/index.js";
import { IDEMPOTENCY_KEY_PATTERN } from "../ledger/validate.js";
import { PROBLEM_BASE_URI, PROBLEMS } from "./problems.js";

// The schemas of the HTTP API, written once with TypeBox: each is a JSON Schema object
// (what the OpenAPI document shows) and a TypeScript type (what handlers see), and the
// route wrapper validates requests with them (route-definition.ts). A schema with an
// `$id` becomes a named component of the document.

/** Positions, versions and sizes: JSON numbers are exact up to 2^53-1, so nothing larger is accepted or sent. */
export const SafeInteger = (options: { minimum?: number; maximum?: number; default?: number; description?: string } = {}) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, ...options });

const Base64 = (description: string) => Type.String({ contentEncoding: "base64", description });
const Hash = Base64("32 bytes, standard base64 with padding.");

export const StreamIdParameter = Type.String({
  pattern: STREAM_ID_PATTERN.source,
  description: "1-200 characters of [A-Za-z0-9._:@-], starting with a letter or digit.",
  examples: ["orders-1"],
});

export const IdempotencyKeyHeader = Type.String({
  pattern: IDEMPOTENCY_KEY_PATTERN.source,
  minLength: 1,
  maxLength: 255,
  description: "1-255 printable ASCII characters, no space at either end; scoped to the caller. Retrying with the same key and body answers the original receipt.",
});

export const ExpectedVersion = Type.Union([Type.Literal("any"), Type.Literal("no_stream"), Type.Literal("stream_exists"), SafeInteger()], {
  $id: "ExpectedVersion",
  description: "`any`: no check; `no_stream`: the stream must not exist; `stream_exists`; n: the stream's last version must be n.",
});

export const AppendEvent = Type.Object(
  {
    type: Type.String({ pattern: EVENT_TYPE_PATTERN.source, examples: ["PaymentCaptured"] }),
    data: Type.Unknown({ description: "Any I-JSON value (null allowed)." }),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true, description: "Actor, correlation, causation; hashed with the header." })),
    eventId: Type.Optional(Type.String({ pattern: EVENT_ID_PATTERN.source, description: "Lowercase UUID, unique within the request and the ledger; generated when absent." })),
  },
  { $id: "AppendEvent", additionalProperties: false },
);

export function appendRequestSchema(maxEvents: number) {
  return Type.Object(
    {
      events: Type.Array(AppendEvent, {
        minItems: 1,
        maxItems: maxEvents,
        description: "Appended in order, all or none. Each `eventId` given must differ from every other in the request (400 `ERR_INVALID_INPUT` otherwise).",
      }),
      expectedVersion: Type.Optional(ExpectedVersion),
    },
    { $id: "AppendRequest", additionalProperties: false, examples: [{ events: [{ type: "OrderPlaced", data: { total: 42 } }], expectedVersion: "no_stream" }] },
  );
}

export const Checkpoint = Type.Object(
  { treeSize: SafeInteger(), rootHash: Hash, note: Type.String({ description: "C2SP tlog-checkpoint signed note." }) },
  { $id: "Checkpoint", additionalProperties: false },
);

export const ReceiptEvent = Type.Object(
  { position: SafeInteger(), streamVersion: SafeInteger(), eventId: Type.String(), hash: Hash, keyId: Type.String(), signature: Base64("Ed25519 signature over `hash`.") },
  { $id: "ReceiptEvent", additionalProperties: false },
);

export const Receipt = Type.Object(
  { streamId: Type.String(), streamVersion: SafeInteger(), events: Type.Array(ReceiptEvent), checkpoint: Checkpoint },
  { $id: "Receipt", additionalProperties: false },
);

export const EventRecord = Type.Object(
  {
    position: SafeInteger(),
    streamId: Type.String(),
    streamVersion: SafeInteger(),
    eventId: Type.String(),
    type: Type.String(),
    recordedAt: Type.String({ format: "date-time" }),
    metadata: Type.Object({}, { additionalProperties: true }),
    data: Type.Optional(Type.Unknown({ description: "Absent once redacted." })),
    dataSalt: Type.Optional(Base64("Absent once redacted.")),
    dataHash: Hash,
    prevHash: Hash,
    streamPrevHash: Hash,
    keyId: Type.String(),
    hash: Hash,
    signature: Base64("Ed25519 signature over `hash`."),
  },
  { $id: "EventRecord", additionalProperties: false },
);

export const StreamEvents = Type.Object({ streamId: Type.String(), events: Type.Array(EventRecord) }, { $id: "StreamEvents", additionalProperties: false });
export const AllEvents = Type.Object({ events: Type.Array(EventRecord), nextPosition: SafeInteger() }, { $id: "AllEvents", additionalProperties: false });

export const PublicKey = Type.Object(
  {
    keyId: Type.String(),
    algorithm: Type.Literal("Ed25519"),
    publicKey: Base64("Raw Ed25519 public key."),
    noteVerifierKey: Type.String({ description: "C2SP signed-note verifier key." }),
    validFrom: Type.String({ format: "date-time" }),
    validTo: Type.Optional(Type.String({ format: "date-time" })),
    fromPosition: Type.Optional(SafeInteger({ minimum: 1, description: "The first position this key signs (absent: never in force)." })),
    toPosition: Type.Optional(SafeInteger({ description: "The last position this key signs: its KeyRotated event (absent: in force)." })),
  },
  { $id: "PublicKey", additionalProperties: false },
);
export const PublicKeys = Type.Object({ keys: Type.Array(PublicKey) }, { additionalProperties: false });

export const Status = Type.Object({ status: Type.String() }, { $id: "Status" });

const AuditPath = Type.Array(Base64("32 bytes."));
export const InclusionProof = Type.Object(
  { leafIndex: SafeInteger(), treeSize: SafeInteger(), rootHash: Hash, auditPath: AuditPath },
  { $id: "InclusionProof", additionalProperties: false },
);
export const CheckpointPage = Type.Object(
  { checkpoints: Type.Array(Checkpoint), nextTreeSize: SafeInteger({ description: "Ask from here next; a page shorter than `limit` reached the latest checkpoint." }) },
  { $id: "CheckpointPage", additionalProperties: false },
);
export const ConsistencyProof = Type.Object({ from: SafeInteger(), to: SafeInteger(), path: AuditPath }, { $id: "ConsistencyProof", additionalProperties: false });
export const EventReceipt = Type.Object(
  {
    format: Type.Literal("annal-receipt/v1"),
    event: EventRecord,
    inclusionProof: Type.Object({ leafIndex: SafeInteger(), treeSize: SafeInteger(), auditPath: AuditPath }, { additionalProperties: false }),
    checkpoint: Checkpoint,
    publicKey: Type.Optional(Type.String({ description: "The ledger's C2SP verifier key, as a hint: verifiers use their own copy." })),
  },
  { $id: "EventReceipt", additionalProperties: false },
);

export const Problem = Type.Object(
  {
    type: Type.String({ format: "uri", enum: [...new Set(Object.values(PROBLEMS).map((p) => PROBLEM_BASE_URI + p.slug))] }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ enum: Object.keys(PROBLEMS) }),
    instance: Type.Optional(Type.String()),
    requestId: Type.String(),
    actualVersion: Type.Optional(Type.Unknown({ description: "ERR_EXPECTED_VERSION: the stream's current version." })),
    supported: Type.Optional(Type.Array(Type.String(), { description: "ERR_API_VERSION: the supported versions." })),
  },
  {
    $id: "Problem",
    description: "RFC 9457 problem details. Extension members (e.g. `actualVersion`, `supported`, `pointer`, `parameter`) depend on `code`.",
  },
);

/** Any JSON object (the OpenAPI document itself, the effective configuration). */
export const AnyObject = Type.Object({}, { additionalProperties: true });

/** Plain text bodies (metrics, signed notes, HTML). */
export const Text = (description: string): TSchema => Type.String({ description });
