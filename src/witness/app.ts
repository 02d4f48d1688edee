import { Hono } from "hono";
import { parseVerifierKey, verifyConsistencyProof, fromBase64, type SignatureVerifier } from "../core/index.js";
import { verifyCheckpointNote } from "../verify/checkpoint.js";
import { cosignatureLine, cosignedMessage, formatCosignerVerifierKey, type CosignerKey } from "../verify/cosignature.js";
import type { TrustedKey } from "../verify/keys.js";
import { keyIdOf } from "../core/index.js";
import { parseAddCheckpointBody, TLOG_SIZE_CONTENT_TYPE } from "./protocol.js";
import type { WitnessState } from "./state.js";

export interface WitnessedLog {
  origin: string;
  /** The log's checkpoint keys (C2SP verifier keys, Ed25519). */
  verifierKeys: string[];
}

export interface WitnessDeps {
  state: WitnessState;
  /** The witness key: `sign` may answer later (a key in an HSM or a KMS, through openSigner). */
  cosigner: CosignerKey & { sign(message: Uint8Array): Uint8Array | Promise<Uint8Array> };
  logs: readonly WitnessedLog[];
  /** POSIX seconds; the cosignature's timestamp. */
  now(): number;
  verifySignature?: SignatureVerifier;
  onEvent?: (event: { origin?: string; status: number; reason: string; oldSize?: number; treeSize?: number }) => void;
}

const MAX_BODY_BYTES = 64 * 1024;

type Outcome = { status: 200; line: string } | { status: 409; size: number; reason: string } | { status: 409 | 422; reason: string };

/**
 * A C2SP tlog-witness: cosigns a log's checkpoint only if it verifies under the log's
 * key and is consistent with the last checkpoint this witness cosigned for that log.
 *
 * @example
 *   const app = createWitnessApp({ state, cosigner, logs: [{ origin, verifierKeys: [vkey] }], now: () => Math.floor(Date.now() / 1000) });
 */
export function createWitnessApp(deps: WitnessDeps): Hono {
  const logs = new Map<string, TrustedKey[]>();
  for (const log of deps.logs) {
    const keys = log.verifierKeys.map((vkey) => {
      const parsed = parseVerifierKey(vkey);
      if (!parsed) throw new Error(`log ${log.origin}: ${vkey} is not an Ed25519 verifier key`);
      return { name: parsed.name, publicKey: parsed.publicKey, keyId: keyIdOf(parsed.publicKey) };
    });
    logs.set(log.origin, keys);
  }
  const app = new Hono();
  const verifierKey = formatCosignerVerifierKey(deps.cosigner.name, deps.cosigner.publicKey);
  const text = (body: string, status: number, contentType = "text/plain; charset=utf-8") => new Response(body, { status, headers: { "Content-Type": contentType } });
  const refuse = (status: number, reason: string, origin?: string) => {
    deps.onEvent?.({ ...(origin ? { origin } : {}), status, reason });
    return text(`${reason}\n`, status);
  };

  app.get("/", (c) => c.json({ name: deps.cosigner.name, verifierKey, logs: [...logs.keys()] }));

  app.post("/add-checkpoint", async function addCheckpoint(c) {
    const length = Number(c.req.header("Content-Length") ?? "0");
    if (length > MAX_BODY_BYTES) return refuse(413, "body too large");
    const raw = await c.req.text();
    if (raw.length > MAX_BODY_BYTES) return refuse(413, "body too large");
    const request = parseAddCheckpointBody(raw);
    if (typeof request === "string") return refuse(400, request);
    const { checkpoint, oldSize, proof } = request;
    const keys = logs.get(checkpoint.origin);
    if (!keys) return refuse(404, `unknown log ${checkpoint.origin}`);
    const signed = verifyCheckpointNote(request.note, keys, deps.verifySignature ? { verifySignature: deps.verifySignature } : {});
    if (!signed.ok) return refuse(403, "no valid signature by a key of this log", checkpoint.origin);
    if (oldSize > checkpoint.treeSize) return refuse(400, `old size ${oldSize} is larger than the checkpoint's ${checkpoint.treeSize}`, checkpoint.origin);

    const newRoot = fromBase64(checkpoint.rootHash)!;
    const outcome = await deps.state.update<Outcome>(checkpoint.origin, async (current) => {
      const currentSize = current?.treeSize ?? 0;
      if (oldSize !== currentSize) return { result: { status: 409, size: currentSize, reason: `old size ${oldSize} is not the latest cosigned size ${currentSize}` } };
      if (current && oldSize === checkpoint.treeSize && current.rootHash !== checkpoint.rootHash) {
        return { result: { status: 409, reason: `fork: size ${oldSize} was cosigned with root ${current.rootHash}, not ${checkpoint.rootHash}` } };
      }
      if (current) {
        const verdict = verifyConsistencyProof(oldSize, checkpoint.treeSize, fromBase64(current.rootHash)!, newRoot, proof);
        if (!verdict.ok) return { result: { status: 422, reason: `consistency proof from ${oldSize}: ${verdict.reason}` } };
      } else if (proof.length !== 0) {
        return { result: { status: 422, reason: "the proof must be empty when the old size is zero" } };
      }
      const timestamp = deps.now();
      // Signed under the log's lock, before the new size is persisted: a failed signature persists nothing.
      const line = cosignatureLine(deps.cosigner, timestamp, await deps.cosigner.sign(cosignedMessage(request.body, timestamp)));
      return {
        next: { origin: checkpoint.origin, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, body: request.body, cosignedAt: timestamp },
        result: { status: 200, line },
      };
    });
    deps.onEvent?.({ origin: checkpoint.origin, status: outcome.status, reason: "reason" in outcome ? outcome.reason : "cosigned", oldSize, treeSize: checkpoint.treeSize });
    if (outcome.status === 200) return text(outcome.line, 200);
    if ("size" in outcome) return text(`${outcome.size}\n`, 409, TLOG_SIZE_CONTENT_TYPE);
    return text(`${outcome.reason}\n`, outcome.status);
  });

  app.notFound(() => text("not found\n", 404));
  app.onError((error) => {
    deps.onEvent?.({ status: 500, reason: error.message });
    return text("internal error\n", 500);
  });
  return app;
}
