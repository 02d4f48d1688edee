import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { AppendTimeline } from "../ledger/append-trace.js";
import type { AccessControl, Principal } from "../auth/access-control.js";
import type { Redactor } from "../ledger/redaction.js";
import type { KeyAdmin } from "./key-routes.js";
import type { CheckpointView, Ledger, LedgerReader } from "../ledger/types.js";
import type { ProjectionStatus } from "../projector/status.js";
import type { StreamEntry, StreamQuery } from "../projector/stream-catalog.js";
import { API_VERSIONS, type ApiVersionPolicy } from "./middleware/api-version.js";

/** Merkle proofs for auditors (RFC 9162), answered from stored subtree hashes. */
export interface ProofReader {
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  checkpointAt(treeSize: number): Promise<CheckpointView | undefined>;
  /** Up to `limit` durable checkpoints with tree size >= `fromTreeSize`, ascending. */
  listCheckpoints(fromTreeSize: number, limit: number): Promise<CheckpointView[]>;
  /** The stored hash of the event at `position` (a leaf), to check a proof before serving it; read from the record when absent. */
  eventHash?(position: number): Promise<Uint8Array | undefined>;
  /**
   * The latest checkpoint's size and root and, when the leaf is inside it, the leaf's
   * proof and its event's stored hash, in one read where the store can; when absent the
   * route reads the latest checkpoint, then the proof.
   */
  latestInclusionProof?(leafIndex: number): Promise<{ checkpoint: Pick<CheckpointView, "treeSize" | "rootHash">; proof?: { auditPath: Uint8Array[]; eventHash: Uint8Array } } | undefined>;
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
  /**
   * Who may call what. Required, so no app is ever built without a decision: pass
   * `createAuthOff()` explicitly where authentication is not wanted (and production refuses it).
   */
  access: AccessControl;
  /** The embedded development identity provider, served under its mount path (Node only). */
  identityProvider?: MountedIdentityProvider | undefined;
  /** Read models (`GET /streams`, `/projections`); undefined when projections are off in this instance. */
  projections?: ProjectionsApi | undefined;
  /** Payload redaction (`POST /admin/events/{position}/redact`); the route answers 503 without it. */
  redactor?: Redactor | undefined;
  /** Key rotation (`POST /admin/keys/rotate`); the route answers 503 without it. */
  keys?: KeyAdmin | undefined;
  /** The effective configuration with secrets masked, for `GET /admin/config`. */
  effectiveConfig?: (() => Readonly<Record<string, unknown>>) | undefined;
}

/** What the HTTP edge needs of the projector (src/projector) and the stream catalogue. */
export interface ProjectionsApi {
  status(name?: string): Promise<ProjectionStatus[]>;
  waitFor(name: string, position: number, timeoutMs: number): Promise<number>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  rebuild(name: string, actor: string): Promise<{ build: number; state: string; schema: string }>;
  skip(name: string, request: { position: number; reason: string; actor: string; build?: number }): Promise<{ build: number; ledgerPosition: number }>;
  listStreams(query: StreamQuery): Promise<{ streams: StreamEntry[]; next: string | null }>;
  /** Longest a read-your-writes read waits for its position (ms). */
  readonly readWaitMs: number;
}

export interface MountedIdentityProvider {
  /** `/oidc`: requests under it go to `handle`, before API version negotiation and auth. */
  mountPath: string;
  /** A Node request listener; the Node bindings come from @hono/node-server. */
  handle(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void;
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
  /** Supported and deprecated API versions; default `API_VERSIONS`. */
  apiVersions?: ApiVersionPolicy;
  /** Every request is answered within this (503 past it). Default 5000 ms. */
  requestTimeoutMs?: number;
  /**
   * Stage histograms of every append (annal_append_stage_seconds in /metrics), for
   * finding where appends wait (ANNAL_TRACE_APPENDS=1). Off by default.
   */
  traceAppends?: boolean;
  /** One info line per request (ANNAL_ACCESS_LOG=1). Off by default. */
  accessLog?: boolean;
}

export type ResolvedApiOptions = Required<ApiOptions>;

export function resolveApiOptions(options: ApiOptions = {}): ResolvedApiOptions {
  return {
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    maxEventsPerAppend: options.maxEventsPerAppend ?? 1000,
    maxJsonDepth: options.maxJsonDepth ?? 32,
    maxReadLimit: options.maxReadLimit ?? 1000,
    apiVersions: options.apiVersions ?? API_VERSIONS,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    traceAppends: options.traceAppends ?? false,
    accessLog: options.accessLog ?? false,
  };
}

/** Per-request variables set by the middleware, read by handlers and the error renderer. */
export interface AppVariables {
  requestId: string;
  logger: Logger;
  apiVersion: string;
  /** Set by the authorize middleware on every non-public route before its handler runs. */
  principal: Principal;
  /** Stage timestamps of this request, only while appends are traced (ANNAL_TRACE_APPENDS=1). */
  timeline?: AppendTimeline;
}

export interface AppEnv {
  Variables: AppVariables;
}
