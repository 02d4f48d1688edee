import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CheckpointView, Ledger, LedgerReader } from "../ledger/types.js";

/** Merkle proofs for auditors (RFC 9162), answered from stored subtree hashes. */
export interface ProofReader {
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  checkpointAt(treeSize: number): Promise<CheckpointView | undefined>;
}

/** What the HTTP edge needs from the rest of Annal. Wired once, in the composition root. */
export interface ApiDeps {
  ledger: Ledger;
  reader: LedgerReader;
  proofs: ProofReader;
  /** Readiness: database reachable, migrations applied, signer loaded. */
  ready(): Promise<boolean>;
  logger: Logger;
  metrics: Registry;
}

export interface ApiOptions {
  /** Largest request body accepted, in bytes; larger bodies answer 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most events one append may carry. Default 1000. */
  maxEventsPerAppend?: number;
  /** Deepest JSON nesting accepted in a request body (the envelope counts). Default 32. */
  maxJsonDepth?: number;
  /** Largest `limit` a read accepts. Default 1000. */
  maxReadLimit?: number;
}

export type ResolvedApiOptions = Required<ApiOptions>;

export function resolveApiOptions(options: ApiOptions = {}): ResolvedApiOptions {
  return {
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    maxEventsPerAppend: options.maxEventsPerAppend ?? 1000,
    maxJsonDepth: options.maxJsonDepth ?? 32,
    maxReadLimit: options.maxReadLimit ?? 1000,
  };
}

/** Per-request variables set by the middleware, read by handlers and the error renderer. */
export interface AppVariables {
  requestId: string;
  logger: Logger;
  apiVersion: string;
}

export interface AppEnv {
  Variables: AppVariables;
}
