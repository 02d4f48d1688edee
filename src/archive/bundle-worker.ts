// Runs inside a worker thread (see bundle-workers.ts): the CPU-heavy, pure parts of
// sealing and verifying, so a 100,000-event segment never blocks the event loop of
// `annal serve` (HTTP, heartbeats, other followers).
import { parentPort } from "node:worker_threads";
import { parseTrustedKey, verifyBundle, type BundleCheckOptions, type TrustedKey } from "../verify/index.js";

/** A trusted key as a worker receives it: its text (verifier key or raw base64), with its window when known. */
export type KeySpec = string | { text: string; fromPosition?: number; toPosition?: number };
import { createNodeVerifier } from "../cli/node-verifier.js";
import { finishBundle, prepareBundle, type PreparedBundle, type SegmentInput } from "./build-bundle.js";

export type BundleJob =
  | { kind: "prepare"; input: SegmentInput }
  | { kind: "finish"; job: number; note: string; keys: readonly KeySpec[]; options: Omit<BundleCheckOptions, "verifySignature"> }
  | { kind: "verify"; bytes: Uint8Array; keys: readonly KeySpec[]; options: Omit<BundleCheckOptions, "verifySignature"> }
  | { kind: "drop"; job: number };

const prepared = new Map<number, PreparedBundle>();
const verifySignature = createNodeVerifier();

function trusted(keys: readonly KeySpec[]): TrustedKey[] {
  return keys
    .map((k) => {
      if (typeof k === "string") return parseTrustedKey(k);
      const key = parseTrustedKey(k.text);
      return "error" in key ? key : { ...key, ...(k.fromPosition !== undefined ? { fromPosition: k.fromPosition } : {}), ...(k.toPosition !== undefined ? { toPosition: k.toPosition } : {}) };
    })
    .filter((k): k is TrustedKey => !("error" in k));
}

parentPort!.on("message", ({ id, job }: { id: number; job: BundleJob }) => {
  try {
    switch (job.kind) {
      case "prepare": {
        const p = prepareBundle(job.input);
        prepared.set(id, p);
        parentPort!.postMessage({ id, result: { text: p.text, keyName: p.keyName } });
        return;
      }
      case "finish": {
        const p = prepared.get(job.job);
        prepared.delete(job.job);
        if (!p) throw new Error(`no prepared bundle ${job.job}`);
        const built = finishBundle(p, job.note);
        const verdict = verifyBundle(built.bytes, trusted(job.keys), { ...job.options, verifySignature });
        parentPort!.postMessage({ id, result: { ...built, verdict } }, [built.bytes.buffer as ArrayBuffer]);
        return;
      }
      case "verify": {
        const verdict = verifyBundle(job.bytes, trusted(job.keys), { ...job.options, verifySignature });
        parentPort!.postMessage({ id, result: verdict });
        return;
      }
      case "drop":
        prepared.delete(job.job);
        parentPort!.postMessage({ id, result: null });
        return;
    }
  } catch (error) {
    parentPort!.postMessage({ id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
});
