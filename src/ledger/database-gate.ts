import { LedgerError } from "../core/index.js";

export interface DatabaseGateOptions {
  /** Pause between two probes while the database is down. Default 100 ms. */
  probeIntervalMs?: number;
}

export interface DatabaseGate {
  /** False from the first connection failure until a probe succeeds. */
  readonly available: boolean;
  /** Throws ERR_UNAVAILABLE (nothing was done; retriable) while the database is down. */
  assertAvailable(): void;
  /** A call to the database failed on the connection or timed out: close the gate and start probing. */
  reportDown(cause: unknown): void;
  /** Stops probing (shutdown). */
  close(): void;
}

/**
 * A circuit breaker in front of the database for the append path. While the database
 * does not answer, every new append would wait out the whole statement timeout behind a
 * dead batch; with the gate closed it is refused at once with ERR_UNAVAILABLE, which
 * promises the client that nothing happened. One probe at a time (`probe`, itself bounded
 * by the pool's connect and statement timeouts) reopens the gate when the database
 * answers again, so recovery needs no operator.
 *
 * @example
 * const gate = createDatabaseGate({ probe: () => pool.query("SELECT 1") });
 * gate.assertAvailable(); // before queueing an append
 */
export function createDatabaseGate(
  deps: { probe: () => Promise<unknown>; onChange?: (available: boolean, cause?: unknown) => void },
  options: DatabaseGateOptions = {},
): DatabaseGate {
  const interval = options.probeIntervalMs ?? 100;
  let available = true;
  let probing = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function scheduleProbe(delay: number): void {
    if (closed || probing) return;
    probing = true;
    timer = setTimeout(() => void probeOnce(), delay);
    // A pending probe must not keep a process alive that is otherwise done.
    timer.unref?.();
  }

  async function probeOnce(): Promise<void> {
    timer = undefined;
    let ok: boolean;
    try {
      await deps.probe();
      ok = true;
    } catch {
      ok = false;
    }
    probing = false;
    if (closed) return;
    if (ok) {
      available = true;
      deps.onChange?.(true);
    } else {
      scheduleProbe(interval);
    }
  }

  return {
    get available() {
      return available;
    },
    assertAvailable() {
      if (!available) {
        throw new LedgerError("ERR_UNAVAILABLE", "the database is not answering; nothing was written, retry shortly", { retriable: true, details: { retryAfterSeconds: 1 } });
      }
    },
    reportDown(cause) {
      if (closed) return;
      if (available) {
        available = false;
        deps.onChange?.(false, cause);
      }
      // The first probe right away: a single dropped connection should not cost a pause.
      scheduleProbe(0);
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
