import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevIdentityProvider, createTokenVerifier, type DevIdentityProvider } from "../../../src/auth/index.js";
import { freePort } from "../../../src/store/postgres/embedded.js";
import { clientCredentialsToken } from "../../support/annal.js";

// A real issuer (the embedded development one) on a loopback port that the test stops, as
// an identity provider outage looks to Annal: connections refused. Every fetch the
// verifier makes goes through a counting wrapper around the real fetch.
let base: string;
let idp: DevIdentityProvider;
let server: Server | undefined;
let port: number;

async function listen(): Promise<void> {
  server = createServer((req, res) => idp.handle(req, res));
  await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
}

async function stop(): Promise<void> {
  const s = server;
  server = undefined;
  s?.closeAllConnections();
  await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
}

function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
    count: () => calls,
  };
}

async function codes(verify: () => Promise<unknown>, times: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < times; i++) {
    await verify().then(
      () => seen.add("accepted"),
      (error: { code?: string }) => seen.add(error.code ?? "no code"),
    );
  }
  return [...seen];
}

beforeAll(async () => {
  const home = await mkdtemp(join(tmpdir(), "annal-idp-outage-"));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await createDevIdentityProvider({ home, issuer: `${base}/oidc`, audience: "urn:annal:api" });
  await listen();
});
afterAll(stop);

describe("identity provider outage", () => {
  it("given cached keys, keeps verifying without fetching while they are fresh, then refuses with 503 (not 401), fetching at most once per retry interval", async () => {
    const token = await clientCredentialsToken(base, idp.clients, "writer");
    const counter = countingFetch();
    const cacheMaxAgeMs = 1500;
    // Verified tokens not remembered: this is about the key set's own cache.
    const verifier = createTokenVerifier({ fetch: counter.fetch }, { issuer: idp.issuer, audience: idp.audience, jwksCacheMaxAgeMs: cacheMaxAgeMs, issuerRetryMs: 60_000, verifiedCacheSeconds: 0 });
    await verifier.verify(token);
    const warm = counter.count(); // discovery + JWKS

    // When the issuer goes down
    await stop();
    const loadedAt = Date.now();
    expect(await codes(() => verifier.verify(token), 200)).toEqual(["accepted"]);
    expect(counter.count()).toBe(warm);

    // Then once the cached keys are older than their lifetime
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, loadedAt + cacheMaxAgeMs + 100 - Date.now())));
    expect(await codes(() => verifier.verify(token), 200)).toEqual(["ERR_UNAVAILABLE"]);
    // One failed refresh, then no more until the retry interval: no fetch storm.
    expect(counter.count() - warm).toBe(1);
    await listen();
  });

  it("given an issuer down from the start, refuses with 503 and tries discovery once per retry interval, then recovers", async () => {
    const token = await clientCredentialsToken(base, idp.clients, "reader");
    const counter = countingFetch();
    const verifier = createTokenVerifier({ fetch: counter.fetch }, { issuer: idp.issuer, audience: idp.audience, issuerRetryMs: 60_000 });
    await stop();
    expect(await codes(() => verifier.verify(token), 100)).toEqual(["ERR_UNAVAILABLE"]);
    expect(counter.count()).toBe(1);
    await listen();

    // Recovery needs no restart: a verifier whose retry interval has passed fetches again.
    const quick = createTokenVerifier({ fetch: counter.fetch }, { issuer: idp.issuer, audience: idp.audience, issuerRetryMs: 1 });
    await stop();
    await expect(quick.verify(token)).rejects.toMatchObject({ code: "ERR_UNAVAILABLE" });
    await listen();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(quick.verify(token)).resolves.toMatchObject({ subject: "annal-reader" });
  });

  it("answers a token it verified from memory, by its exact text, for at most verifiedCacheSeconds and never past its exp", async () => {
    const token = await clientCredentialsToken(base, idp.clients, "writer");
    const { exp } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
    let clock = Date.now();
    const counter = countingFetch();
    const options = { issuer: idp.issuer, audience: idp.audience, jwksCacheMaxAgeMs: 1, issuerRetryMs: 60_000, verifiedCacheSeconds: 60 };
    const verifier = createTokenVerifier({ fetch: counter.fetch, now: () => new Date(clock) }, options);
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: "annal-writer" });
    const fetches = counter.count();

    // The issuer gone and its keys stale: only a remembered token can still be accepted.
    await stop();
    await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      clock += 59_000;
      expect(await codes(() => verifier.verify(token), 50)).toEqual(["accepted"]);
      expect(counter.count()).toBe(fetches);
      // Another text (the same token, its signature changed) is verified, not remembered.
      await expect(verifier.verify(`${token.slice(0, -4)}AAAA`)).rejects.toMatchObject({ code: "ERR_UNAVAILABLE" });
      // Past verifiedCacheSeconds the token is verified again: here that needs the issuer.
      clock += 2000;
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: "ERR_UNAVAILABLE" });
    } finally {
      await listen();
    }

    // Remembered for a day, still not past exp (plus the clock tolerance, as when verified).
    let late = Date.now();
    const daylong = createTokenVerifier({ now: () => new Date(late) }, { issuer: idp.issuer, audience: idp.audience, verifiedCacheSeconds: 86_400 });
    await daylong.verify(token);
    late = exp * 1000 - 1000;
    await expect(daylong.verify(token)).resolves.toMatchObject({ subject: "annal-writer" });
    late = exp * 1000 + 31_000;
    await expect(daylong.verify(token)).rejects.toMatchObject({ code: "ERR_UNAUTHENTICATED" });
  });

  it("still refuses a forged token with 401 while the issuer is up", async () => {
    const verifier = createTokenVerifier({}, { issuer: idp.issuer, audience: idp.audience });
    const token = await clientCredentialsToken(base, idp.clients, "writer");
    const [header, payload] = token.split(".");
    await expect(verifier.verify(`${header}.${payload}.${"A".repeat(86)}`)).rejects.toMatchObject({ code: "ERR_UNAUTHENTICATED" });
  });
});
