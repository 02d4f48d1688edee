import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { Counter, type Registry } from "prom-client";
import { decodeHash, fromBase64, isLedgerError, leafHash, LedgerError, toBase64, verifyConsistencyProof, verifyInclusionProof } from "../core/index.js";
import type { CheckpointView } from "../ledger/types.js";
import { RECEIPT_FORMAT, type EventReceipt } from "../verify/receipt.js";
import type { ApiDeps, AppEnv } from "./context.js";
import { integerPathParameter, integerQuery } from "./query.js";
import { checkpointJson, eventJson } from "./representations.js";
import type { RouteDefinition } from "./routes.js";

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
    const root = fromBase64(checkpoint.rootHash);
    if (!hash || !root) throw corrupt(c, what, "the event or the checkpoint root is missing");
    const verdict = verifyInclusionProof(position - 1, checkpoint.treeSize, leafHash(hash), path, root);
    if (!verdict.ok) throw corrupt(c, what, verdict.reason);
    return path.map(toBase64);
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

  /** `treeSize` query or the latest checkpoint; 404 when that size was never checkpointed. */
  async function checkpointFor(c: Context<AppEnv>, name: string): Promise<CheckpointView> {
    const size = integerQuery(c, name, { min: 1, fallback: 0 });
    return size === 0 ? latest() : checkpointOfSize(size);
  }

  async function listPage(c: Context<AppEnv>): Promise<{ checkpoints: CheckpointView[]; nextTreeSize: number }> {
    const fromTreeSize = integerQuery(c, "fromTreeSize", { min: 1, fallback: 1 });
    const limit = integerQuery(c, "limit", { min: 1, max: maxLimit, fallback: Math.min(100, maxLimit) });
    const page = await proofs.listCheckpoints(fromTreeSize, limit);
    const last = page[page.length - 1];
    // As GET /events: continue from nextTreeSize; a page shorter than limit reached the
    // latest checkpoint at the time of the request.
    return { checkpoints: page.map(checkpointJson), nextTreeSize: last === undefined ? fromTreeSize : last.treeSize + 1 };
  }

  return [
    {
      method: "GET",
      path: "/proofs/inclusion",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        const position = requiredInteger(c, "position");
        const checkpoint = await checkpointFor(c, "treeSize");
        if (position > checkpoint.treeSize) {
          throw new LedgerError("ERR_INVALID_INPUT", `position ${position} is beyond the tree of size ${checkpoint.treeSize}`, { details: { parameter: "position", treeSize: checkpoint.treeSize } });
        }
        const auditPath = await verifiedInclusion(c, position, checkpoint);
        return c.json({ leafIndex: position - 1, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, auditPath });
      },
    },
    {
      method: "GET",
      path: "/proofs/consistency",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        const from = requiredInteger(c, "from");
        const to = await checkpointFor(c, "to");
        if (from > to.treeSize) {
          throw new LedgerError("ERR_INVALID_INPUT", `from ${from} is larger than to ${to.treeSize}`, { details: { parameter: "from", treeSize: to.treeSize } });
        }
        const path = await verifiedConsistency(c, from, to);
        return c.json({ from, to: to.treeSize, path });
      },
    },
    {
      method: "GET",
      path: "/checkpoints",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        // Without treeSize: a page of checkpoints, ascending (docs/verification.md section 11).
        if (c.req.query("treeSize") === undefined) return c.json(await listPage(c));
        if (c.req.query("fromTreeSize") !== undefined || c.req.query("limit") !== undefined) {
          throw new LedgerError("ERR_INVALID_INPUT", "treeSize selects one checkpoint; fromTreeSize and limit page the list: give one or the other", { details: { parameter: "treeSize" } });
        }
        const checkpoint = await checkpointOfSize(requiredInteger(c, "treeSize"));
        const type = accepts(c, { header: "Accept", supports: ["application/json", "text/plain"], default: "application/json" });
        c.header("Vary", "Accept", { append: true });
        if (type === "text/plain") return c.text(checkpoint.note);
        return c.json(checkpointJson(checkpoint));
      },
    },
    {
      method: "GET",
      path: "/events/:position/receipt",
      permission: "audit:read",
      acceptsBody: false,
      async handler(c) {
        const position = integerPathParameter(c.req.param("position") ?? "", "position");
        const record = await reader.readEvent(position);
        if (record === undefined) throw new LedgerError("ERR_NOT_FOUND", `no event at position ${position}`, { details: { position } });
        // Read after the event: the checkpoint of its own batch committed with it, so the
        // latest one covers it.
        const checkpoint = await latest();
        const auditPath = await verifiedInclusion(c, position, checkpoint, record.hash);
        // The hint names the key that signs checkpoints: the newest one not retired. The
        // event itself may be signed by a key retired since (docs/verification.md section 12).
        const keys = await reader.publicKeys();
        const key = [...keys].reverse().find((k) => k.validTo === undefined) ?? keys.find((k) => k.keyId === record.keyId);
        const receipt: EventReceipt = {
          format: RECEIPT_FORMAT,
          event: eventJson(record),
          inclusionProof: { leafIndex: position - 1, treeSize: checkpoint.treeSize, auditPath },
          checkpoint: checkpointJson(checkpoint),
          ...(key ? { publicKey: key.noteVerifierKey } : {}),
        };
        return c.json(receipt);
      },
    },
  ];
}

function requiredInteger(c: Context<AppEnv>, name: string): number {
  const value = integerQuery(c, name, { min: 1, fallback: 0 });
  if (value === 0) throw new LedgerError("ERR_INVALID_INPUT", `query parameter ${name} is required (an integer from 1)`, { details: { parameter: name } });
  return value;
}

/** One counter per registry (several apps may share one in tests). */
function storeCorruptCounter(registry: Registry): Counter {
  const name = "annal_store_corrupt_total";
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help: "Proofs refused because stored tree state does not verify against a signed checkpoint (run annal fsck)", registers: [registry] })
  );
}
