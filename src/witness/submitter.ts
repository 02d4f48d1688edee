import type { Logger } from "pino";
import { toBase64 } from "../core/index.js";
import type { CheckpointView } from "../ledger/types.js";
import type { CosignatureStore } from "../store/postgres/cosignatures.js";
import { verifyCosignature } from "../verify/cosignature.js";
import type { WitnessEndpoint } from "./config.js";
import { formatAddCheckpointBody, TLOG_SIZE_CONTENT_TYPE } from "./protocol.js";

export interface WitnessSubmitterDeps {
  latestCheckpoint(): Promise<CheckpointView | undefined>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
  store: CosignatureStore;
  witnesses: readonly WitnessEndpoint[];
  logger: Logger;
  fetch?: typeof fetch;
}

/**
 * Asks witnesses to cosign the ledger's latest checkpoint, after commit and off the
 * append path: `notify()` only sets a flag; one loop at a time submits the newest
 * checkpoint (intermediate ones are skipped: a witness needs only the latest) and
 * stores each cosignature that verifies. A slow or failing witness never delays an
 * append; it is retried at the next notification.
 */
export function createWitnessSubmitter(deps: WitnessSubmitterDeps) {
  const fetchImpl = deps.fetch ?? fetch;
  // The size each witness last cosigned, as far as we know; undefined: ask with old 0
  // and learn it from the 409 answer, as the protocol intends.
  const known = new Map<string, number>();
  let dirty = false;
  let running: Promise<void> | undefined;
  let closed = false;

  async function submit(witness: WitnessEndpoint, checkpoint: CheckpointView): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const old = known.get(witness.url) ?? 0;
      if (old > checkpoint.treeSize) return;
      const proof = old === 0 || old === checkpoint.treeSize ? [] : (await deps.consistencyProof(old, checkpoint.treeSize)).map(toBase64);
      const response = await fetchImpl(`${witness.url}/add-checkpoint`, { method: "POST", body: formatAddCheckpointBody(old, proof, checkpoint.note), signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      if (response.status === 409 && response.headers.get("Content-Type")?.startsWith(TLOG_SIZE_CONTENT_TYPE)) {
        // The witness's current size, per tlog-witness; anything else is not trusted.
        const size = Number(text.trim());
        if (!Number.isSafeInteger(size) || size < 0) {
          deps.logger.warn({ witness: witness.url, detail: text.slice(0, 200) }, "witness answered 409 without a valid tree size");
          return;
        }
        known.set(witness.url, size);
        continue;
      }
      if (response.status !== 200) {
        deps.logger.warn({ witness: witness.url, status: response.status, treeSize: checkpoint.treeSize, detail: text.slice(0, 200) }, "witness refused the checkpoint");
        return;
      }
      const lines = text.split("\n").filter(Boolean).map((line) => `${line}\n`);
      let cosigned: { line: string; timestamp: number } | undefined;
      for (const line of lines) {
        const verdict = verifyCosignature(checkpoint.note + line, witness.cosigner);
        if (verdict.ok) {
          cosigned = { line, timestamp: verdict.timestamp };
          break;
        }
      }
      if (!cosigned) {
        deps.logger.warn({ witness: witness.url, treeSize: checkpoint.treeSize }, "witness answered no cosignature that verifies under its configured key");
        return;
      }
      known.set(witness.url, checkpoint.treeSize);
      await deps.store.save(checkpoint.treeSize, witness.cosigner.name, cosigned.line, cosigned.timestamp);
      return;
    }
  }

  async function loop(): Promise<void> {
    while (dirty && !closed) {
      dirty = false;
      const checkpoint = await deps.latestCheckpoint();
      if (!checkpoint) continue;
      await Promise.all(
        deps.witnesses.map((w) =>
          submit(w, checkpoint).catch((error: unknown) => deps.logger.warn({ err: error, witness: w.url, treeSize: checkpoint.treeSize }, "witness submission failed")),
        ),
      );
    }
  }

  function notify(): void {
    if (closed || deps.witnesses.length === 0) return;
    dirty = true;
    running ??= loop().finally(() => {
      running = undefined;
      // A notification that arrived as the loop finished starts another one.
      if (dirty && !closed) notify();
    });
  }

  return {
    /** A new checkpoint was committed. Cheap, synchronous, never throws. */
    notify,
    /** Resolves once everything notified so far was submitted (tests, shutdown). */
    async flush(): Promise<void> {
      while (running) await running;
    },
    async close(): Promise<void> {
      closed = true;
      await running;
    },
  };
}

export type WitnessSubmitter = ReturnType<typeof createWitnessSubmitter>;
