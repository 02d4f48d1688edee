import pg from "pg";
import type { WatchedSecret } from "../../secrets/index.js";

/**
 * The database password from a credential provider, for every pool and client Annal opens.
 *
 * - New connections authenticate with the current value: the password is asked for on
 *   each connection (pg calls an async `password` function), never copied into a URL.
 * - After a rotation, pooled connections opened with an earlier value are retired: an
 *   idle one is closed at once, a checked-out one is closed when it is released, so a
 *   running query or transaction always completes (drain, never kill).
 * - Dedicated sessions (LISTEN, follower leases) keep their session; they reconnect with
 *   the current value whenever they reconnect. PostgreSQL checks a password only when a
 *   session starts, so an open session is unaffected by ALTER ROLE ... PASSWORD.
 */
export interface DatabasePassword {
  /** A pg Client class that asks for the current password when it connects (pg-pool's `Client` option). */
  readonly Client: typeof pg.Client;
  /** Retires `pool`'s connections opened with an older password after each rotation; returns the detach function. */
  track(pool: pg.Pool): () => void;
}

/** pg-pool's bookkeeping (pg-pool 3.x): the same path its own maxLifetimeSeconds uses to retire a client. */
interface PoolInternals {
  _clients: pg.PoolClient[];
  _idle: { client: pg.PoolClient }[];
  _expired: WeakSet<pg.PoolClient>;
  _remove(client: pg.PoolClient): void;
}

export function createDatabasePassword(secret: WatchedSecret): DatabasePassword {
  let generation = 0;
  // Which password generation each connection authenticated with, keyed by its
  // ConnectionParameters (the one object pg hands the password function, per client).
  const usedBy = new WeakMap<object, number>();
  const retirers = new Set<() => void>();
  secret.onChange(() => {
    generation++;
    for (const retire of retirers) retire();
  });

  async function password(parameters: object): Promise<string> {
    // Ask the provider (cheap within its TTL), so a connection opened right after a
    // rotation does not wait for the watcher's next tick; if the source does not answer,
    // the last value still works until the database says otherwise.
    await secret.check().catch(() => false);
    usedBy.set(parameters, generation);
    return secret.current().reveal();
  }

  // pg copies a connection string's fields over the `password` option, dropping a
  // function; a subclass sets it after construction instead.
  class RotatingPasswordClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      Object.defineProperty(this, "password", { value: password, writable: true, configurable: true, enumerable: false });
    }
  }

  return {
    Client: RotatingPasswordClient,
    track(pool) {
      const internals = pool as unknown as PoolInternals;
      const isStale = (client: pg.PoolClient) => (usedBy.get((client as unknown as { connectionParameters: object }).connectionParameters) ?? generation) < generation;
      const retire = (client: pg.PoolClient) => {
        if (internals._idle.some((item) => item.client === client)) internals._remove(client);
        else internals._expired.add(client);
      };
      const retireStale = () => {
        for (const client of [...internals._clients]) if (isStale(client)) retire(client);
      };
      // A connection that was mid-handshake during the rotation is retired as it arrives.
      const onConnect = (client: pg.PoolClient) => {
        if (isStale(client)) internals._expired.add(client);
      };
      pool.on("connect", onConnect);
      retirers.add(retireStale);
      return () => {
        retirers.delete(retireStale);
        pool.off("connect", onConnect);
      };
    },
  };
}
