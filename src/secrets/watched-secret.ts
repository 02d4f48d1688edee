import type { Secret } from "./secret.js";
import type { SecretProvider } from "./secret-provider.js";

export interface WatchedSecret {
  readonly name: string;
  readonly source: string;
  /** The value as of the last check: synchronous, for clients that ask for credentials synchronously (kafkajs). */
  current(): Secret;
  /** Asks the provider (it re-reads per its TTL); resolves true when the value changed. */
  check(options?: { fresh?: boolean }): Promise<boolean>;
  /** Called after each change with the new value; returns an unsubscribe function. */
  onChange(listener: (next: Secret, previous: Secret) => void): () => void;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** How often the provider is asked (default 1000 ms; it re-reads its source per its own TTL). */
  intervalMs?: number;
  /** A failed check keeps the last value and is reported here (never with the value). */
  onError?: (error: unknown) => void;
}

/**
 * Keeps a provider's current value and notices rotations: reads it once now, then asks
 * the provider every `intervalMs` (an unref'd timer: it never keeps the process alive).
 * A rotation is a change of value; listeners run after the new value is current.
 */
export async function watchSecret(provider: SecretProvider, options: WatchOptions = {}): Promise<WatchedSecret> {
  let value = await provider.get();
  const listeners = new Set<(next: Secret, previous: Secret) => void>();
  let checking: Promise<boolean> | undefined;

  async function check(checkOptions: { fresh?: boolean } = {}): Promise<boolean> {
    const next = await provider.get(checkOptions);
    if (next.equals(value)) return false;
    const previous = value;
    value = next;
    for (const listener of listeners) listener(next, previous);
    return true;
  }

  const timer = setInterval(() => {
    // One check at a time: a slow source (Vault) must not pile up requests.
    if (checking !== undefined) return;
    checking = check().catch((error: unknown) => {
      options.onError?.(error);
      return false;
    });
    void checking.finally(() => (checking = undefined));
  }, options.intervalMs ?? 1000);
  timer.unref();

  return {
    name: value.name,
    source: provider.source,
    current: () => value,
    check,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      clearInterval(timer);
      await checking;
      await provider.close();
    },
  };
}
