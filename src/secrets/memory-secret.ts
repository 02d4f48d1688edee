import { LedgerError } from "../core/index.js";
import { Secret } from "./secret.js";
import type { SecretProvider } from "./secret-provider.js";

export interface MemorySecretProvider extends SecretProvider {
  /** Rotates the value (what an operator does to the real source). */
  set(value: string): void;
}

/** The in-memory fake of the SecretProvider port (tests; it passes the same contract suite). */
export function createMemorySecretProvider(name: string, initial: string): MemorySecretProvider {
  let value = initial;
  let closed = false;
  return {
    source: "memory:",
    get() {
      if (closed) return Promise.reject(new LedgerError("ERR_SECRET_UNAVAILABLE", `${name}: provider is closed`));
      return Promise.resolve(new Secret(name, value));
    },
    set(next) {
      value = next;
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
