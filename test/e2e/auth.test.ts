import { generateKeyPair, importJWK, SignJWT, exportJWK, type JWK, type JWTPayload } from "jose";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRouteTable } from "../../src/api/admin-routes.js";
import { resolveApiOptions } from "../../src/api/context.js";
import type { RouteDefinition } from "../../src/api/routes.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// Writers and readers are confined to the `payments-*` domain; auditors read everything
// and its evidence; admins hold everything. The dev issuer's clients carry these role names.
const POLICY = {
  roles: {
    writer: [{ permissions: ["events:append", "events:read"], streams: ["payments-*"] }],
    reader: [{ permissions: ["events:read"], streams: ["payments-*"] }],
    auditor: [{ permissions: ["events:read", "audit:read", "metrics:read"], streams: ["*"] }],
    admin: [{ permissions: ["events:append", "events:read", "audit:read", "metrics:read", "admin:*"], streams: ["*"] }],
  },
};

let t: TestHttpAnnal;
const tokens = new Map<string, string>();
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "annal-policy-"));
  await writeFile(join(dir, "policy.json"), JSON.stringify(POLICY));
  t = await startTestHttpAnnal({ auth: "oidc", env: { ANNAL_RBAC_POLICY_FILE: join(dir, "policy.json") } });
  for (const role of ["writer", "reader", "auditor", "admin"]) tokens.set(role, await t.token(role));
});
afterAll(() => t?.close());

const bearer = (role: string) => ({ authorization: `Bearer ${tokens.get(role)!}` });
const json = { "content-type": "application/json" };
function append(streamId: string, headers: Record<string, string>, body: unknown = { events: [{ type: "PaymentCaptured", data: { amount: 1 } }] }) {
  return fetch(`${t.url}/streams/${streamId}/events`, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });
}

describe("tokens from the embedded issuer", () => {
  it("serves discovery at /oidc with the client_credentials grant", async () => {
    const discovery = (await (await fetch(`${t.url}/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: `${t.url}/oidc`, token_endpoint: `${t.url}/oidc/token`, jwks_uri: `${t.url}/oidc/jwks` });
    expect(discovery["grant_types_supported"]).toContain("client_credentials");
  });

  it("lets a writer append and read in its domain with a real access token", async () => {
    const stream = randomName("payments");
    const appended = await append(stream, bearer("writer"));
    expect(appended.status).toBe(201);
    const read = await fetch(`${t.url}/streams/${stream}/events`, { headers: bearer("writer") });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { events: unknown[] }).events).toHaveLength(1);
  });

  it("answers 403 problem+json when authenticated but not allowed", async () => {
    const response = await append(randomName("payments"), bearer("reader"));
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "ERR_FORBIDDEN", permission: "events:append" });
  });

  it("shows admins the effective configuration with secrets masked, and no one else", async () => {
    const response = await fetch(`${t.url}/admin/config`, { headers: bearer("admin") });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { config: { databaseUrl: string; auth: string }; auth: string };
    expect(body.auth).toBe("oidc");
    expect(body.config).toMatchObject({ auth: "oidc", rbacPolicyFile: expect.stringContaining("policy.json") });
    const password = decodeURIComponent(new URL(t.annal.config.databaseUrl!).password);
    expect(password).not.toBe("");
    expect(JSON.stringify(body)).not.toContain(password);
    expect((await fetch(`${t.url}/admin/config`, { headers: bearer("auditor") })).status).toBe(403);
  });
});

describe("idempotency keys are scoped per principal", () => {
  it("never returns another principal's receipt for the same key", async () => {
    const stream = randomName("payments");
    const key = randomName("key");
    const first = await append(stream, { ...bearer("writer"), "idempotency-key": key });
    expect(first.status).toBe(201);
    const firstReceipt = (await first.json()) as { events: Array<{ position: number }> };
    const other = await append(stream, { ...bearer("admin"), "idempotency-key": key });
    expect(other.status).toBe(201);
    const otherReceipt = (await other.json()) as { events: Array<{ position: number }> };
    expect(otherReceipt.events[0]!.position).not.toBe(firstReceipt.events[0]!.position);
    // The owner's replay still answers the owner's receipt.
    const replay = await append(stream, { ...bearer("writer"), "idempotency-key": key });
    expect(((await replay.json()) as { events: Array<{ position: number }> }).events[0]!.position).toBe(firstReceipt.events[0]!.position);
    const read = (await (await fetch(`${t.url}/streams/${stream}/events`, { headers: bearer("admin") })).json()) as { events: unknown[] };
    expect(read.events).toHaveLength(2);
  });
});

describe("attack matrix: every forged or misused token answers 401 invalid_token", () => {
  let issuerKey: CryptoKey | Uint8Array;
  let kid: string;
  let publicJwk: JWK;
  const now = () => Math.floor(Date.now() / 1000);
  beforeAll(async () => {
    // The issuer's own private key (from ANNAL_HOME), so each case differs from a valid
    // token in exactly the property under test.
    const { keys } = JSON.parse(await readFile(join(t.annal.config.home, "dev-oidc-keys.json"), "utf8")) as { keys: JWK[] };
    issuerKey = await importJWK(keys[0]!, "ES256");
    kid = keys[0]!.kid!;
    const { d: _d, ...pub } = keys[0]!;
    publicJwk = pub;
  });
  const valid = (): JWTPayload => ({ iss: `${t.url}/oidc`, aud: "urn:annal:api", sub: "annal-admin", client_id: "annal-admin", roles: ["admin"], iat: now(), exp: now() + 300 });
  const sign = (claims: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = issuerKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...header }).sign(key);
  const unsigned = (header: object, claims: object) => `${b64(header)}.${b64(claims)}.`;
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

  const request = (token: string) => fetch(`${t.url}/events?limit=1`, { headers: { authorization: `Bearer ${token}` } });

  it("control: a token minted the same way with every property right is accepted", async () => {
    expect((await request(await sign(valid()))).status).toBe(200);
  });

  const cases: Array<[string, () => Promise<string>]> = [
    ["alg none", () => Promise.resolve(unsigned({ alg: "none", typ: "at+jwt", kid }, valid()))],
    [
      "HS256 signed with the issuer's public key",
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
        return new SignJWT(valid()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid }).sign(secret);
      },
    ],
    ["unknown kid", () => sign(valid(), { kid: "not-a-key-of-this-issuer" })],
    ["wrong iss", () => sign({ ...valid(), iss: "https://evil.example/oidc" })],
    ["wrong aud", () => sign({ ...valid(), aud: "urn:other:api" })],
    ["expired (beyond the clock tolerance)", () => sign({ ...valid(), iat: now() - 7200, exp: now() - 3600 })],
    ["nbf in the future", () => sign({ ...valid(), nbf: now() + 3600 })],
    ["missing exp", () => sign((({ exp: _exp, ...rest }) => rest)(valid()))],
    ["typ JWT (an ID token used as an access token)", () => sign({ ...valid(), nonce: "n", auth_time: now(), azp: "annal-admin" }, { typ: "JWT" })],
    ["no typ at all", () => sign(valid(), { typ: undefined })],
    [
      "signed by another issuer's key (same kid)",
      async () => {
        const { privateKey } = await generateKeyPair("ES256");
        return sign(valid(), {}, privateKey);
      },
    ],
    ["garbage", () => Promise.resolve("not.a.jwt")],
  ];

  it.each(cases)("%s → 401", async (_name, mint) => {
    const response = await request(await mint());
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="annal", error="invalid_token", error_description="[^"]+"$/);
    expect(await response.json()).toMatchObject({ code: "ERR_UNAUTHENTICATED", status: 401 });
  });

  it("refuses HS256 even keyed with the exact JWK bytes a naive verifier would use", async () => {
    const raw = createHash("sha256").update(JSON.stringify(await exportJWK(await importJWK(publicJwk, "ES256")))).digest();
    const token = await new SignJWT(valid()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid }).sign(raw);
    expect((await request(token)).status).toBe(401);
  });
});

describe("RBAC matrix from the route table", () => {
  // Independent of the policy code: what each role may do, by permission and domain kind.
  type Verdicts = { own: boolean; foreign: boolean; all: boolean };
  const deny: Verdicts = { own: false, foreign: false, all: false };
  const everywhere: Verdicts = { own: true, foreign: true, all: true };
  const ownOnly: Verdicts = { own: true, foreign: false, all: false };
  const EXPECTED: Record<string, Record<string, Verdicts>> = {
    writer: { "events:append": ownOnly, "events:read": ownOnly, "audit:read": deny, "metrics:read": deny, "admin:*": deny },
    reader: { "events:append": deny, "events:read": ownOnly, "audit:read": deny, "metrics:read": deny, "admin:*": deny },
    auditor: { "events:append": deny, "events:read": everywhere, "audit:read": everywhere, "metrics:read": everywhere, "admin:*": deny },
    admin: { "events:append": everywhere, "events:read": everywhere, "audit:read": everywhere, "metrics:read": everywhere, "admin:*": everywhere },
  };
  const never = () => Promise.reject(new Error("unused"));
  // The table itself, as the app builds it (deps are not called when only listing routes).
  const routes: RouteDefinition[] = createRouteTable(
    { ledger: { append: never, close: never }, reader: {} as never, proofs: {} as never, ready: never, logger: {} as never, metrics: {} as never, access: {} as never },
    resolveApiOptions(),
  );

  it("covers every route, role and domain with exactly the expected allow or deny", async () => {
    const unexpected: string[] = [];
    let allows = 0;
    for (const route of routes) {
      for (const role of [...Object.keys(EXPECTED), "anonymous"]) {
        for (const domain of ["own", "foreign"] as const) {
          const streamId = randomName(domain === "own" ? "payments" : "orders");
          const path = route.path.replace(/:streamId/g, streamId).replace(/:[A-Za-z0-9_]+/g, "1");
          const headers: Record<string, string> = { ...json, ...(role === "anonymous" ? {} : bearer(role)) };
          const body = route.method === "POST" ? JSON.stringify({ events: [{ type: "Probed", data: {} }] }) : undefined;
          const response = await fetch(`${t.url}${path}`, { method: route.method, headers, ...(body ? { body } : {}) });
          await response.body?.cancel();
          const streamScoped = route.path.includes(":streamId");
          // A domain-filtered route (GET /streams) is allowed with the permission on any domain.
          const verdicts = role === "anonymous" || route.permission === "public" ? undefined : EXPECTED[role]![route.permission]!;
          const expectedAllow =
            route.permission === "public" ? true : verdicts === undefined ? false : route.domainFiltered === true ? verdicts.own || verdicts.all : verdicts[streamScoped ? domain : "all"];
          const allowed = response.status !== 401 && response.status !== 403;
          if (allowed) allows += 1;
          const expectedDenyStatus = role === "anonymous" ? 401 : 403;
          if (allowed !== expectedAllow || (!expectedAllow && response.status !== expectedDenyStatus)) {
            unexpected.push(`${role} ${route.method} ${route.path} (${domain}): got ${response.status}, expected ${expectedAllow ? "allow" : expectedDenyStatus}`);
          }
        }
      }
    }
    expect(unexpected).toEqual([]);
    expect(allows).toBeGreaterThan(0);
  });
});
