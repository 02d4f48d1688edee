import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";

export interface ServerOptions {
  /** Loopback by default: exposing the ledger is a deliberate act. */
  host?: string;
  /** 0 picks a free port (see `url`). */
  port?: number;
}

/** Anything with a fetch handler: a Hono app, or a sub-app mounted in one. */
export interface FetchApp {
  // `env` carries the runtime's bindings (Node's incoming/outgoing under @hono/node-server),
  // which the embedded identity provider needs.
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

// The part of Bun's API we use, declared here so the Node type check needs no bun-types.
interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunRuntime {
  serve(options: { fetch: (request: Request, server: unknown) => Response | Promise<Response>; hostname: string; port: number }): BunServer;
}

/**
 * Listens with the runtime's own server: `Bun.serve` under Bun, `@hono/node-server` on
 * Node. Resolves once the socket is bound.
 *
 * @example
 * const server = await startServer(createApp(deps), { port: 0 });
 * await fetch(`${server.url}/healthz`);
 * await server.close();
 */
export async function startServer(app: FetchApp, options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const fetch = (request: Request, env?: unknown): Response | Promise<Response> => app.fetch(request, env);
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (bun !== undefined) {
    const server = bun.serve({ fetch, hostname: host, port });
    return { url: urlOf(host, server.port), close: async () => void (await server.stop(true)) };
  }
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, (info: AddressInfo) => {
      server.off("error", reject);
      resolve({
        url: urlOf(host, info.port),
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Keep-alive connections would hold close() open until they time out.
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }),
      });
    });
    server.once("error", reject);
  });
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
