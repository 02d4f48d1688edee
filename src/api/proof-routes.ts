import { Type } from "@sinclair/typebox";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { Counter, type Registry } from "prom-client";
import { decodeHash, fromBase64, isLedgerError, LedgerError, merkleHashers, toBase64, verifyConsistencyProof, verifyInclusionProof } from "../core/index.js";
import { nodeSha256 } from "../ledger/batch-store.js";
import type { CheckpointView } from "../ledger/types.js";
import { RECEIPT_FORMAT, type EventReceipt as EventReceiptJson } from "../verify/receipt.js";
import type { ApiDeps, AppEnv } from "./context.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { checkpointJson, eventJson } from "./representations.js";
import { defineRoute, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Checkpoint, CheckpointPage, ConsistencyProof, EventReceipt, InclusionProof, Problem, SafeInteger, Text } from "./schemas.js";

const NATIVE = merkleHashers(nodeSha256);
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
export function createProofRoutes(deps: Pick<ApiDeps, "reader" | "proofs"> & { metrics?: Registry }, options: { maxReadLimit?: number } = {}): RouteDefinition[] {
  const { reader, proofs } = deps;
  const maxLimit = options.maxReadLimit ?? 1000;
  // Registered on the first corruption: route tables are also built with stand-in deps.
  let corruptions: Counter | undefined;

  /**
   * A proof from stored subtree hashes, checked against the signed root before it is
   * served (docs/verification.md section 11.6): a corrupted annal.merkle_nodes row must
   * surface as ERR_STORE_CORRUPT and an alarm here, not later as a proof that fails at a
   * client. Costs O(log n) hashes per request.
   */
  function corrupt(c: Context<AppEnv>, what: string, reason: string, cause?: unknown): LedgerError {
    if (deps.metrics) (corruptions ??= storeCorruptCounter(deps.metrics)).inc();
    c.get("logger").error({ proof: what, reason, err: cause }, "stored tree state is corrupt: a proof does not verify against its signed checkpoint (run annal fsck)");
    return new LedgerError("ERR_STORE_CORRUPT", `stored state is corrupt: ${what}: ${reason}`, cause === undefined ? {} : { cause });
  }

  async function verifiedInclusion(c: Context<AppEnv>, position: number, checkpoint: CheckpointView, eventHash?: string): Promise<string[]> {
    const what = `inclusion of ${position} in ${checkpoint.treeSize}`;
    let path: Uint8Array[];
    try {
      path = await proofs.inclusionProof(position - 1, checkpoint.treeSize);
    } catch (error) {
      if (isLedgerError(error, "ERR_INTERNAL")) throw corrupt(c, what, error.message, error);
      throw error;
    }
    const hash =
      eventHash !== undefined ? decodeHash(eventHash) : proofs.eventHash ? await proofs.eventHash(position) : decodeHash((await reader.readEvent(position))?.hash ?? "");
    return checkedPath(c, position, checkpoint, path, hash);
  }

  /** The proof as served, once it verifies against the checkpoint's root; ERR_STORE_CORRUPT otherwise. */
  function checkedPath(c: Context<AppEnv>, position: number, checkpoint: Pick<CheckpointView, "treeSize" | "rootHash">, path: Uint8Array[], hash: Uint8Array | undefined): string[] {
    const what = `inclusion of ${position} in ${checkpoint.treeSize}`;
    const root = fromBase64(checkpoint.rootHash);
    if (!hash || !root) throw corrupt(c, what, "the event or the checkpoint root is missing");
    // node:crypto's SHA-256 (also under Bun): every proof served is checked, some 25 hashes each.
    const verdict = verifyInclusionProof(position - 1, checkpoint.treeSize, NATIVE.leaf(hash), path, root, nodeSha256);
    if (!verdict.ok) throw corrupt(c, what, verdict.reason);
    return path.map(toBase64);
  }

  /** The inclusion proof of `position` in the latest checkpoint, in one read where the store can. */
  async function latestInclusion(c: Context<AppEnv>, position: number): Promise<{ treeSize: number; rootHash: string; auditPath: string[] }> {
    if (!proofs.latestInclusionProof) {
      const checkpoint = await latest();
      assertInside(position, checkpoint.treeSize);
      return { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, auditPath: await verifiedInclusion(c, position, checkpoint) };
    }
    let found: Awaited<ReturnType<NonNullable<typeof proofs.latestInclusionProof>>>;
    try {
      found = await proofs.latestInclusionProof(position - 1);
    } catch (error) {
      if (isLedgerError(error, "ERR_INTERNAL")) throw corrupt(c, `inclusion of ${position} in the latest checkpoint`, error.message, error);
      throw error;
    }
    if (found === undefined) throw new LedgerError("ERR_NOT_FOUND", "no checkpoint has been signed yet");
    const { checkpoint, proof } = found;
    assertInside(position, checkpoint.treeSize);
    return { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, auditPath: checkedPath(c, position, checkpoint, proof?.auditPath ?? [], proof?.eventHash) };
  }

  function assertInside(position: number, treeSize: number): void {
    if (position > treeSize) {
      throw new LedgerError("ERR_INVALID_INPUT", `position ${position} is beyond the tree of size ${treeSize}`, { details: { parameter: "position", treeSize } });
    }
  }

  async function verifiedConsistency(c: Context<AppEnv>, from: number, to: CheckpointView): Promise<string[]> {
    const what = `consistency ${from} -> ${to.treeSize}`;
    let path: Uint8Array[];
    try {
      path = await proofs.consistencyProof(from, to.treeSize);
    } catch (error) {
      if (isLedgerError(error, "ERR_INTERNAL")) throw corrupt(c, what, error.message, error);
      throw error;
    }
    // Checkable when `from` is a checkpointed size too (its root is signed); other sizes
    // have no signed root to check against.
    const older = await proofs.checkpointAt(from);
    if (older) {
      const verdict = verifyConsistencyProof(from, to.treeSize, fromBase64(older.rootHash)!, fromBase64(to.rootHash)!, path);
      if (!verdict.ok) throw corrupt(c, what, verdict.reason);
    }
    return path.map(toBase64);
  }

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
        if (treeSize === undefined) return c.json({ leafIndex: position - 1, ...(await latestInclusion(c, position)) });
        const checkpoint = await checkpointOfSize(treeSize);
        assertInside(position, checkpoint.treeSize);
        const auditPath = await verifiedInclusion(c, position, checkpoint);
        return c.json({ leafIndex: position - 1, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, auditPath });
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
        const path = await verifiedConsistency(c, query.from, to);
        return c.json({ from: query.from, to: to.treeSize, path });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/checkpoints",
      permission: "audit:read",
      operationId: "checkpoints",
      tags: ["audit"],
      summary: "The signed checkpoint of a tree size, or a page of all of them",
      description:
        "With `treeSize`: that checkpoint; JSON by default, with `Accept: text/plain` the C2SP signed note itself, witness cosignatures included. " +
        "Without it: checkpoints in ascending tree size from `fromTreeSize`, at most `limit`, and `nextTreeSize` to continue from (docs/verification.md section 11).",
      request: {
        query: Type.Object({
          treeSize: Type.Optional(size("A checkpointed tree size.")),
          fromTreeSize: Type.Optional(size("List from this tree size (default 1).")),
          limit: Type.Optional(SafeInteger({ minimum: 1, maximum: maxLimit, description: `Most checkpoints per page (default ${Math.min(100, maxLimit)}).` })),
        }),
      },
      responses: {
        200: { description: "The checkpoint, or a page of checkpoints.", content: { "application/json": Type.Union([Checkpoint, CheckpointPage]), "text/plain": Text("C2SP signed note.") } },
        400: problem("`treeSize` together with `fromTreeSize` or `limit` (`ERR_INVALID_INPUT`)."),
        404: common[404],
      },
      async handle(c, { query: { treeSize, fromTreeSize, limit } }) {
        if (treeSize === undefined) {
          const from = fromTreeSize ?? 1;
          const page = await proofs.listCheckpoints(from, limit ?? Math.min(100, maxLimit));
          const last = page[page.length - 1];
          // As GET /events: continue from nextTreeSize; a page shorter than limit reached the latest checkpoint.
          return c.json({ checkpoints: page.map(checkpointJson), nextTreeSize: last === undefined ? from : last.treeSize + 1 });
        }
        if (fromTreeSize !== undefined || limit !== undefined) {
          throw new LedgerError("ERR_INVALID_INPUT", "treeSize selects one checkpoint; fromTreeSize and limit page the list: give one or the other", { details: { parameter: "treeSize" } });
        }
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
        const auditPath = await verifiedInclusion(c, position, checkpoint, record.hash);
        // The hint names the key that signs checkpoints: the one in force (its window is
        // open). The event itself may be signed by a key retired since (docs/verification.md
        // section 12, "How a verifier follows keys").
        const keys = await reader.publicKeys();
        const key = keys.find((k) => k.fromPosition !== undefined && k.toPosition === undefined) ?? keys.find((k) => k.keyId === record.keyId);
        const receipt: EventReceiptJson = {
          format: RECEIPT_FORMAT,
          event: eventJson(record),
          inclusionProof: { leafIndex: position - 1, treeSize: checkpoint.treeSize, auditPath },
          checkpoint: checkpointJson(checkpoint),
          ...(key ? { publicKey: key.noteVerifierKey } : {}),
        };
        return c.json(receipt);
      },
    }),
  ];
}

/** One counter per registry (several apps may share one in tests). */
function storeCorruptCounter(registry: Registry): Counter {
  const name = "annal_store_corrupt_total";
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help: "Proofs refused because stored tree state does not verify against a signed checkpoint (run annal fsck)", registers: [registry] })
  );
}
