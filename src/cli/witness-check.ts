import { readFile } from "node:fs/promises";
import type { CheckpointView, PublicKeyInfo } from "../ledger/types.js";
import { formatVerifierKey } from "../core/index.js";
import { equalBytes } from "../core/index.js";
import { parseTrustedKey, verifyCheckpointNote, verifyConsistency, verifyCosignature, type CosignerKey, type TrustedKey } from "../verify/index.js";
import { writeFileAtomic } from "../files/atomic-file.js";
import { createJsonClient } from "./http-client.js";

export const WITNESS_STATE_FORMAT = "annal-witness-state/v1";

/** What `annal verify --witness` remembers between runs: the pinned key and the last good checkpoint. */
export interface AuditorState {
  format: typeof WITNESS_STATE_FORMAT;
  url: string;
  /** The ledger key this auditor trusts: C2SP verifier key, or base64 raw key. */
  publicKey: string;
  checkpoint: CheckpointView;
  checkedAt: string;
}

export type WitnessCheckReport =
  | { ok: true; status: "first" | "unchanged" | "extended"; checkpoint: CheckpointView; previous?: CheckpointView; messages: string[] }
  | { ok: false; problem: "rollback" | "fork" | "inconsistent" | "bad-signature" | "key-mismatch" | "witness-quorum"; reason: string; previous?: CheckpointView; checkpoint?: CheckpointView; messages: string[] };

export interface WitnessCheckOptions {
  url: string;
  stateFile: string;
  /** Pinned key (overrides nothing: it must agree with the one in the state file). */
  publicKey?: string;
  /**
   * Witnesses the auditor trusts (C2SP cosignature/v1 verifier keys) and how many of them
   * must have cosigned the latest checkpoint; a shortfall fails the check and keeps the
   * state file as it was.
   */
  witnesses?: { keys: readonly CosignerKey[]; quorum: number };
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  now?: () => Date;
}

/**
 * An auditor's witness check: the server's latest checkpoint must be signed by the pinned
 * key and be an append-only extension of the last checkpoint this auditor saw. Only a
 * good new checkpoint advances the state file; a rollback, a fork or a bad proof leaves
 * it as it was, so the evidence (both checkpoints) stays at hand.
 */
export async function checkWitness(options: WitnessCheckOptions): Promise<WitnessCheckReport> {
  const client = createJsonClient(options.url, options.fetch, options.headers);
  const messages: string[] = [];
  const state = await loadState(options.stateFile);
  let keyText = options.publicKey ?? state?.publicKey;
  if (options.publicKey && state && !sameKey(options.publicKey, state.publicKey)) {
    return { ok: false, problem: "key-mismatch", reason: `--public-key ${options.publicKey} differs from the key pinned in ${options.stateFile} (${state.publicKey})`, messages };
  }
  if (!keyText) {
    const keys = (await client.get<{ keys: PublicKeyInfo[] }>("/keys")).keys;
    const current = keys.filter((k) => k.validTo === undefined).at(-1) ?? keys.at(-1);
    if (!current) throw new Error(`${client.base}/keys lists no key`);
    keyText = current.noteVerifierKey;
    messages.push(`TRUST ON FIRST USE: pinned the server's key ${keyText} in ${options.stateFile}; compare it with one you obtained out of band`);
  }
  const key = parseTrustedKey(keyText);
  if ("error" in key) throw new Error(`public key ${keyText}: ${key.error}`);

  const latest = await client.get<CheckpointView>("/checkpoints/latest");
  const signed = verifyCheckpointNote(latest.note, key);
  if (!signed.ok) return { ok: false, problem: "bad-signature", reason: signed.reason, checkpoint: latest, ...(state ? { previous: state.checkpoint } : {}), messages };
  const next: CheckpointView = { treeSize: signed.checkpoint.treeSize, rootHash: signed.checkpoint.rootHash, note: latest.note };
  if (options.witnesses) {
    const { keys, quorum } = options.witnesses;
    if (!Number.isSafeInteger(quorum) || quorum < 1) throw new Error(`witness quorum must be a whole number of at least 1, not ${quorum}`);
    // A witness listed twice is one witness.
    const distinct = keys.filter((w, i) => keys.findIndex((o) => o.name === w.name && equalBytes(o.publicKey, w.publicKey)) === i);
    const cosigned = distinct.filter((w) => verifyCosignature(latest.note, w).ok);
    messages.push(`witnesses: ${cosigned.length} of ${distinct.length} trusted witnesses cosigned tree size ${next.treeSize}${cosigned.length > 0 ? ` (${cosigned.map((w) => w.name).join(", ")})` : ""}`);
    if (cosigned.length < quorum) {
      return { ok: false, problem: "witness-quorum", reason: `${cosigned.length} valid cosignatures by trusted witnesses, ${quorum} required`, checkpoint: next, ...(state ? { previous: state.checkpoint } : {}), messages };
    }
  }

  const previous = state?.checkpoint;
  if (previous) {
    if (next.treeSize < previous.treeSize) {
      return { ok: false, problem: "rollback", reason: `the log shrank from ${previous.treeSize} to ${next.treeSize} events`, previous, checkpoint: next, messages };
    }
    if (next.treeSize === previous.treeSize) {
      if (next.rootHash !== previous.rootHash) return { ok: false, problem: "fork", reason: `two different roots for tree size ${next.treeSize}`, previous, checkpoint: next, messages };
      return { ok: true, status: "unchanged", checkpoint: next, previous, messages };
    }
    const proof = await client.get<{ from: number; to: number; path: string[] }>(`/proofs/consistency?from=${previous.treeSize}&to=${next.treeSize}`);
    const consistent = verifyConsistency({ from: previous.treeSize, to: next.treeSize, fromRoot: previous.rootHash, toRoot: next.rootHash, path: proof.path });
    if (!consistent.ok) return { ok: false, problem: "inconsistent", reason: `${consistent.reason} (a fork, a rewritten history or a bad proof)`, previous, checkpoint: next, messages };
  }
  const saved: AuditorState = { format: WITNESS_STATE_FORMAT, url: client.base, publicKey: keyText, checkpoint: next, checkedAt: (options.now?.() ?? new Date()).toISOString() };
  await writeFileAtomic(options.stateFile, `${JSON.stringify(saved, null, 2)}\n`);
  return { ok: true, status: previous ? "extended" : "first", checkpoint: next, ...(previous ? { previous } : {}), messages };
}

async function loadState(path: string): Promise<AuditorState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const state = JSON.parse(text) as AuditorState;
  if (state.format !== WITNESS_STATE_FORMAT || typeof state.publicKey !== "string" || typeof state.checkpoint?.treeSize !== "number") {
    throw new Error(`${path} is not an ${WITNESS_STATE_FORMAT} state file`);
  }
  return state;
}

function sameKey(a: string, b: string): boolean {
  const ka = parseTrustedKey(a);
  const kb = parseTrustedKey(b);
  if ("error" in ka || "error" in kb) return a === b;
  return keyBytes(ka) === keyBytes(kb);
}

function keyBytes(key: TrustedKey): string {
  return formatVerifierKey("k", key.publicKey);
}

/** Human-readable lines for a report; failures print both checkpoints in full. */
export function describeWitnessReport(report: WitnessCheckReport, stateFile: string): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [...report.messages];
  if (report.ok) {
    if (report.status === "first") out.push(`OK: first checkpoint recorded: tree size ${report.checkpoint.treeSize}, root ${report.checkpoint.rootHash}`);
    else if (report.status === "unchanged") out.push(`OK: unchanged at tree size ${report.checkpoint.treeSize}`);
    else out.push(`OK: tree grew consistently from ${report.previous!.treeSize} to ${report.checkpoint.treeSize}; root ${report.checkpoint.rootHash}`);
    return { out, err };
  }
  err.push(`!!! ${report.problem.toUpperCase()}: ${report.reason}`);
  if (report.previous) err.push(`--- checkpoint recorded in ${stateFile}:`, report.previous.note.trimEnd());
  if (report.checkpoint) err.push(`--- checkpoint served now:`, report.checkpoint.note.trimEnd());
  err.push(`${stateFile} was NOT updated. Keep both checkpoints: signed by the same key, they are evidence.`);
  return { out, err };
}
