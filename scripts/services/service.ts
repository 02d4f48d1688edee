import type { RecordedProcess } from "./processes.js";

/**
 * What the manager needs from each service. `start` receives the previous state (ports,
 * credentials, ids) so a restart keeps its URLs and data, and a port picker that prefers
 * the previous port.
 */
export interface ServiceDriver<S extends { process?: RecordedProcess }> {
  name: string;
  /** Download or build what the service needs; no-op when the cache has it. */
  prepare?(): Promise<void>;
  start(saved: S | undefined, pickPort: (preferred?: number) => Promise<number>): Promise<S>;
  /** Resolves when the service answers a real request; rejects with the reason otherwise. */
  probe(state: S): Promise<void>;
  stop(state: S): Promise<void>;
  env(state: S): Record<string, string>;
  describe(state: S): string;
}
