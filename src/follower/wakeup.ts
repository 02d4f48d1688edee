import type pg from "pg";

/** The channel the ledger notifies after each durable batch. */
export const LOG_CHANNEL = "annal_log";

/**
 * Wakes followers when the log grows: from NOTIFY (appends by any process) and from
 * `wake()` (appends by this process, with no round trip). Followers poll too, so a lost
 * notification only delays them by one poll interval.
 */
export interface LogWakeup {
  /** Resolves on the next wake-up or after `timeoutMs`, whichever is first. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  wake(): void;
  close(): Promise<void>;
}

/** Wake-ups from this process only (tests, one-shot CLI runs). */
export function createLocalWakeup(): LogWakeup {
  const waiters = new Set<() => void>();
  return {
    wait(timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    },
    wake() {
      for (const done of [...waiters]) done();
    },
    close() {
      for (const done of [...waiters]) done();
      return Promise.resolve();
    },
  };
}

/**
 * LISTEN on a dedicated connection, reconnecting after a failure (followers keep polling
 * meanwhile). One per process, shared by every follower in it.
 */
export function createListeningWakeup(connect: () => pg.Client, onError: (error: unknown) => void = () => undefined): LogWakeup {
  const local = createLocalWakeup();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  async function listen(): Promise<void> {
    if (closed) return;
    const next = connect();
    const fail = (error: unknown) => {
      onError(error);
      if (client === next) client = undefined;
      next.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void listen(), 1000);
    };
    next.on("error", fail);
    next.on("notification", () => local.wake());
    try {
      await next.connect();
      await next.query(`LISTEN ${LOG_CHANNEL}`);
      client = next;
      // Anything appended while we were not listening: let followers look now.
      local.wake();
    } catch (error) {
      fail(error);
    }
  }
  void listen();

  return {
    wait: (timeoutMs, signal) => local.wait(timeoutMs, signal),
    wake: () => local.wake(),
    async close() {
      closed = true;
      clearTimeout(retry);
      await local.close();
      await client?.end().catch(() => undefined);
    },
  };
}

/**
 * Tells followers in other processes that the log grew. Coalesced: while one NOTIFY is in
 * flight, any number of further calls make one more, not one each. No payload: listeners
 * only wake and read from their own cursor.
 */
export function createLogNotifier(pool: Pick<pg.Pool, "query">): { notify(): void; idle(): Promise<void> } {
  let inFlight: Promise<void> | undefined;
  let pending = false;
  function send(): void {
    inFlight = pool
      .query(`NOTIFY ${LOG_CHANNEL}`)
      .then(() => undefined, () => undefined)
      .finally(() => {
        inFlight = undefined;
        if (pending) {
          pending = false;
          send();
        }
      });
  }
  return {
    notify() {
      if (inFlight) pending = true;
      else send();
    },
    async idle() {
      while (inFlight) await inFlight;
    },
  };
}
