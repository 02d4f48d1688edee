import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeVault {
  address: string;
  token: string;
  /** Requests served (to observe the TTL cache). */
  readonly requests: number;
  revokeToken(): void;
  restoreToken(): void;
  close(): Promise<void>;
}

/**
 * A stand-in for Vault's KV v2 HTTP API (GET and POST /v1/<mount>/data/<path>, X-Vault-Token),
 * used while no Vault binary runs here; the same contract runs against a real `vault server
 * -dev` when one is found (test/support/vault.ts). It answers as Vault 1.x does: 403 for a
 * bad token, 404 for a missing secret, `{ data: { data, metadata } }` for a read.
 */
export async function startFakeVault(token: string): Promise<FakeVault> {
  const secrets = new Map<string, { data: Record<string, unknown>; version: number }>();
  let currentToken = token;
  let requests = 0;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.headers["x-vault-token"] !== currentToken) return send(res, 403, { errors: ["permission denied"] });
      const match = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(req.url ?? "");
      if (!match) return send(res, 404, { errors: [] });
      const key = `${match[1]}/${match[2]}`;
      if (req.method === "GET") {
        const entry = secrets.get(key);
        return entry ? send(res, 200, { data: { data: entry.data, metadata: { version: entry.version } } }) : send(res, 404, { errors: [] });
      }
      if (req.method === "POST" || req.method === "PUT") {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { data: Record<string, unknown> };
        const version = (secrets.get(key)?.version ?? 0) + 1;
        secrets.set(key, { data: body.data, version });
        return send(res, 200, { data: { version } });
      }
      send(res, 405, { errors: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    token,
    get requests() {
      return requests;
    },
    revokeToken: () => (currentToken = `revoked-${Math.random()}`),
    restoreToken: () => (currentToken = token),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Writes a KV v2 secret (a new version), as `vault kv put` does. */
export async function putKv(address: string, token: string, mount: string, path: string, data: Record<string, string>): Promise<void> {
  const response = await fetch(`${address}/v1/${mount}/data/${path}`, { method: "POST", headers: { "X-Vault-Token": token, "content-type": "application/json" }, body: JSON.stringify({ data }) });
  if (!response.ok) throw new Error(`Vault write ${mount}/${path} answered ${response.status}: ${await response.text()}`);
}
