import cliProgress from "cli-progress";
import { createChainVerifier, fromBase64, keyIdOf, type Verdict } from "../core/index.js";
import type { EventSource } from "./event-sources.js";
import { createNodeVerifier } from "./node-verifier.js";

export interface VerifyOptions {
  /** Pinned public keys (an auditor's own copy); otherwise the source's published keys are used. */
  pinnedKeys?: Uint8Array[];
  /** Checkpoint origin / note key name to expect. */
  origin?: string;
  fast?: boolean;
  progress?: boolean;
  pageSize?: number;
  out?: (line: string) => void;
}

export type VerifyReport =
  | { ok: true; events: number; checkpoints: number; root: string }
  | { ok: false; position: number; reason: string; events: number; checkpoints: number };

/**
 * Recomputes every data hash, event hash, global and per-stream link, signature and
 * checkpoint root of a log, in one pass from position 1. Stops at the first failure and
 * names its position.
 */
export async function verifyLog(source: EventSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  const published = await source.publicKeys();
  const keys = new Map<string, Uint8Array>();
  const noteKeys = new Map<string, { name: string; publicKey: Uint8Array }>();
  for (const k of published) {
    const raw = fromBase64(k.publicKey);
    if (!raw || raw.length !== 32) continue;
    const pinned = options.pinnedKeys;
    if (pinned && !pinned.some((p) => Buffer.from(p).equals(Buffer.from(raw)))) continue;
    if (keyIdOf(raw) !== k.keyId) continue;
    keys.set(k.keyId, raw);
    const name = k.noteVerifierKey.split("+")[0]!;
    noteKeys.set(k.keyId, { name, publicKey: raw });
  }
  for (const p of options.pinnedKeys ?? []) if (!keys.has(keyIdOf(p))) keys.set(keyIdOf(p), p);

  const verifier = createChainVerifier({ publicKeys: keys, verifySignature: createNodeVerifier(), skipEventSignatures: options.fast ?? false });
  const total = await source.size();
  const checkpoints = await source.checkpoints(total);
  let nextCheckpoint = 0;
  let checked = 0;
  const bar =
    options.progress && total > 0
      ? new cliProgress.SingleBar({ format: "verify [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined;
  bar?.start(total, 0);
  let failure: (Verdict & { ok: false }) | undefined;
  try {
    outer: for await (const page of source.pages(options.pageSize ?? 1000)) {
      for (const record of page) {
        const verdict = verifier.push(record);
        if (!verdict.ok) {
          failure = verdict;
          break outer;
        }
        while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.treeSize === verifier.size) {
          const cp = checkpoints[nextCheckpoint++]!;
          const verdictCp = checkNote(verifier, cp.note, noteKeys, options.origin);
          if (!verdictCp.ok) {
            failure = verdictCp;
            break outer;
          }
          checked++;
        }
      }
      bar?.update(verifier.size);
    }
  } finally {
    bar?.stop();
  }
  if (!failure && verifier.size < total) failure = { ok: false, position: verifier.size + 1, reason: `log ends at ${verifier.size}, expected ${total} events` };
  if (!failure && nextCheckpoint < checkpoints.length) {
    const cp = checkpoints[nextCheckpoint]!;
    failure = { ok: false, position: cp.treeSize, reason: `checkpoint of size ${cp.treeSize} covers events that are missing` };
  }
  if (failure) return { ok: false, position: failure.position, reason: failure.reason, events: verifier.size, checkpoints: checked };
  return { ok: true, events: verifier.size, checkpoints: checked, root: Buffer.from(verifier.root()).toString("base64") };
}

function checkNote(verifier: ReturnType<typeof createChainVerifier>, note: string, keys: Map<string, { name: string; publicKey: Uint8Array }>, origin?: string): Verdict {
  return verifier.checkCheckpoint(note, [...keys.values()], origin);
}
