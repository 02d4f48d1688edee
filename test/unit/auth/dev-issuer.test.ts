import { mkdtemp, readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importJWK, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevIdentityProvider, createTokenVerifier, type DevIdentityProvider } from "../../../src/auth/index.js";
import { freePort } from "../../../src/store/postgres/embedded.js";
import { clientCredentialsToken } from "../../support/annal.js";

// A real issuer (the embedded development one) on a loopback port, with a counter of the
// JWKS requests it serves: the verifier's refetch cooldown is measured at the issuer.
let home: string;
let base: string;
let idp: DevIdentityProvider;
let server: Server;
let jwksFetches = 0;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "annal-idp-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await createDevIdentityProvider({ home, issuer: `${base}/oidc`, audience: "urn:annal:api" });
  server = createServer((req, res) => {
    if (req.url?.startsWith("/oidc/jwks")) jwksFetches += 1;
    idp.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("embedded development issuer", () => {
  it("persists its clients and signing keys owner-only, so a restart keeps them and old tokens verify", async () => {
    for (const file of ["dev-clients.json", "dev-oidc-keys.json"]) expect((await stat(join(home, file))).mode & 0o777).toBe(0o600);
    expect(idp.clients.map((c) => c.role)).toEqual(["writer", "reader", "auditor", "admin"]);
    for (const c of idp.clients) expect(c.clientSecret.length).toBeGreaterThanOrEqual(40);
    const token = await clientCredentialsToken(base, idp.clients, "writer");

    const restarted = await createDevIdentityProvider({ home, issuer: idp.issuer, audience: idp.audience });
    expect(restarted.clients).toEqual(idp.clients);
    const verifier = createTokenVerifier({}, { issuer: idp.issuer, audience: idp.audience });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: "annal-writer", claims: { roles: ["writer"], client_id: "annal-writer" } });
  });

  it("refuses a client with a wrong secret", async () => {
    const writer = idp.clients.find((c) => c.role === "writer")!;
    await expect(clientCredentialsToken(base, [{ ...writer, clientSecret: "wrong" }], "writer")).rejects.toThrow(/401/);
  });
});

describe("token verifier against a flood of unknown kids", () => {
  it("fetches the JWKS a bounded number of times for 1,000 tokens with random kids", async () => {
    const verifier = createTokenVerifier({}, { issuer: idp.issuer, audience: idp.audience, jwksCooldownMs: 30_000 });
    // Warm up with a valid token: discovery and the first JWKS fetch.
    await verifier.verify(await clientCredentialsToken(base, idp.clients, "reader"));
    const before = jwksFetches;
    const { keys } = JSON.parse(await readFile(join(home, "dev-oidc-keys.json"), "utf8")) as { keys: JWK[] };
    const key = await importJWK(keys[0]!, "ES256");
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        new SignJWT({ client_id: "annal-writer" })
          .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: `unknown-${i}` })
          .setIssuer(idp.issuer)
          .setAudience(idp.audience)
          .setSubject("annal-writer")
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(key),
      ),
    );
    // One after the other: concurrent misses would share one in-flight fetch anyway, so
    // only a sequential flood shows the cooldown (without it, every miss refetches).
    const codes = new Set<string>();
    for (const t of tokens) {
      await verifier.verify(t).then(
        () => codes.add("accepted"),
        (error: { code?: string }) => codes.add(error.code ?? "?"),
      );
    }
    expect([...codes]).toEqual(["ERR_UNAUTHENTICATED"]);
    // One refetch at most (the cooldown had already passed for none), never one per kid.
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });
});
