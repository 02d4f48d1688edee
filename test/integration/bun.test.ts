import { createPublicKey, verify } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDevIdentityProvider } from "../../src/auth/index.js";
import { freePort } from "../../src/store/postgres/embedded.js";
import { clientCredentialsToken } from "../support/annal.js";
import { createTestDatabase } from "../support/services.js";
import { BUN, startServerProcess, type ServerProcess } from "../support/processes.js";
import { createSoftHsmToken } from "../support/softhsm.js";

let server: ServerProcess | undefined;
let issuerServer: Server | undefined;
let drop: (() => Promise<void>) | undefined;
afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => (issuerServer ? issuerServer.close(resolve) : resolve(undefined)));
  await drop?.();
});

describe("the service under Bun", () => {
  // The embedded issuer (oidc-provider) needs Node, so under Bun Annal verifies tokens of
  // an external issuer: here the same development issuer, run by this (Node) test process.
  it("starts, verifies tokens of an external issuer, appends and reads", async () => {
    // The `bun` npm package is a devDependency; its install script fetches the binary.
    expect(existsSync(BUN), `Bun binary missing at ${BUN}: run npm ci (the bun package's install script must be allowed)`).toBe(true);
    const issuerPort = await freePort();
    const issuerBase = `http://127.0.0.1:${issuerPort}`;
    const idp = await createDevIdentityProvider({ home: await mkdtemp(join(tmpdir(), "annal-bun-idp-")), issuer: `${issuerBase}/oidc`, audience: "urn:annal:api" });
    issuerServer = createServer((req, res) => idp.handle(req, res));
    await new Promise<void>((resolve) => issuerServer!.listen(issuerPort, "127.0.0.1", resolve));

    const db = await createTestDatabase();
    drop = () => db.drop();
    server = await startServerProcess(
      { ANNAL_AUTH: "oidc", ANNAL_OIDC_ISSUER: idp.issuer, ANNAL_OIDC_AUDIENCE: idp.audience, DATABASE_URL: db.url, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-bun-")) },
      "bun",
    );
    const token = await clientCredentialsToken(issuerBase, idp.clients, "writer");
    const append = (headers: Record<string, string>) =>
      fetch(`${server!.url}/streams/bun-1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ events: [{ type: "Greeted", data: { runtime: "bun" } }] }),
      });
    const anonymous = await append({});
    expect(anonymous.status).toBe(401);
    const appended = await append({ authorization: `Bearer ${token}` });
    expect(appended.status).toBe(201);
    expect(appended.headers.get("annal-api-version")).toBe("1");
    const read = (await (await fetch(`${server.url}/streams/bun-1/events`, { headers: { authorization: `Bearer ${token}` } })).json()) as { events: Array<{ data: unknown; position: number }> };
    expect(read.events).toHaveLength(1);
    expect(read.events[0]).toMatchObject({ position: 1, data: { runtime: "bun" } });
  });

  it("signs with a PKCS#11 key (SoftHSM2 through koffi) under Bun", async () => {
    const token = await createSoftHsmToken("annal-bun");
    const db = await createTestDatabase();
    let bunServer: ServerProcess | undefined;
    try {
      await token.generateKey("ledger", "0b");
      bunServer = await startServerProcess({ ANNAL_AUTH: "off", DATABASE_URL: db.url, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-bun-hsm-")), ANNAL_SIGNING_KEY: token.uri("ledger"), SOFTHSM2_CONF: token.conf }, "bun");
      const appended = await fetch(`${bunServer.url}/streams/bun-hsm/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "Greeted", data: {} }] }) });
      expect(appended.status, bunServer.output()).toBe(201);
      const pem = await token.readPublicKeyPem("0b");
      const raw = createPublicKey(pem).export({ format: "jwk" }).x!;
      const keys = (await (await fetch(`${bunServer.url}/keys`)).json()) as { keys: Array<{ publicKey: string }> };
      expect(keys.keys.map((k) => Buffer.from(k.publicKey, "base64").toString("base64url"))).toContain(raw);
      const [event] = ((await (await fetch(`${bunServer.url}/streams/bun-hsm/events`)).json()) as { events: Array<{ hash: string; signature: string }> }).events;
      expect(verify(null, Buffer.from(event!.hash, "base64"), createPublicKey(pem), Buffer.from(event!.signature, "base64"))).toBe(true);
    } finally {
      await bunServer?.stop();
      await db.drop();
      await token.close();
    }
  });
});
