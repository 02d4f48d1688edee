import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { Adapter, AdapterPayload, Configuration } from "oidc-provider";

/** Roles that get a seeded client; the names match the default RBAC policy. */
export const DEV_ROLES = ["writer", "reader", "auditor", "admin"] as const;

export interface DevClient {
  role: string;
  clientId: string;
  clientSecret: string;
}

export interface DevIdentityProvider {
  issuer: string;
  audience: string;
  clients: readonly DevClient[];
  /** Node request listener serving the provider under `mountPath`; pass the full URL (with the mount path). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface DevIdentityProviderOptions {
  /** ANNAL_HOME: clients and signing keys persist here (mode 0600), so tokens survive restarts. */
  home: string;
  /** Public issuer URL, ending in the mount path (`http://127.0.0.1:8080/oidc`). */
  issuer: string;
  /** Resource indicator and `aud` of the access tokens: the Annal API. */
  audience: string;
  /** Access token lifetime in seconds. */
  accessTokenTtlSeconds?: number;
}

/**
 * The embedded development identity provider: node-oidc-provider with the
 * `client_credentials` grant only, issuing RFC 9068 JWT access tokens for one resource
 * (the Annal API), and one seeded client per role. Never on in production (config.ts).
 *
 * Needs Node: oidc-provider is a Koa app driven through Node's `http` objects.
 */
export async function createDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  await mkdir(options.home, { recursive: true, mode: 0o700 });
  const clients = await loadOrCreateJson<DevClient[]>(join(options.home, "dev-clients.json"), () =>
    DEV_ROLES.map((role) => ({ role, clientId: `annal-${role}`, clientSecret: randomBytes(32).toString("base64url") })),
  );
  const keys = await loadOrCreateJson<{ keys: JWK[] }>(join(options.home, "dev-oidc-keys.json"), async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = await exportJWK(privateKey);
    return { keys: [{ ...jwk, alg: "ES256", use: "sig", kid: randomBytes(8).toString("hex") }] };
  });
  const cookieKeys = await loadOrCreateJson<string[]>(join(options.home, "dev-oidc-cookie-keys.json"), () => [randomBytes(32).toString("base64url")]);
  const rolesByClient = new Map(clients.map((client) => [client.clientId, [client.role]]));
  const scope = DEV_ROLES.join(" ");

  // Imported here, not at the top: oidc-provider warns about the runtime when loaded, and
  // only embedded development setups should load it at all.
  const { default: Provider, errors } = await import("oidc-provider");
  const configuration: Configuration = {
    adapter: createMemoryAdapter,
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
      scope,
    })),
    jwks: keys,
    cookies: { keys: cookieKeys },
    scopes: [...DEV_ROLES],
    ttl: { ClientCredentials: options.accessTokenTtlSeconds ?? 3600 },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // A token request without `resource` still gets an Annal token: one API, one audience.
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== options.audience) throw new errors.InvalidTarget();
          return {
            scope,
            audience: options.audience,
            accessTokenTTL: options.accessTokenTtlSeconds ?? 3600,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "ES256" } },
          };
        },
      },
    },
    // Browsers may ask for tokens only from Annal's own origin: the API reference page
    // (/docs) authorizes with these clients. Any other site is refused, as by default.
    clientBasedCORS: (_ctx, origin) => origin === new URL(options.issuer).origin,
    // The client's role travels in `roles` too, so a token requested without `scope` still
    // carries it (the RBAC policy reads both).
    extraTokenClaims: (_ctx, token) => {
      const roles = token.clientId === undefined ? undefined : rolesByClient.get(token.clientId);
      return roles === undefined ? undefined : { roles };
    },
  };
  const provider = new Provider(options.issuer, configuration);
  // Its own error logging would print request details to stderr outside our JSON logs.
  provider.on("server_error", () => undefined);
  const callback = provider.callback();
  const mountPath = new URL(options.issuer).pathname.replace(/\/$/, "");
  return {
    issuer: options.issuer,
    audience: options.audience,
    clients,
    handle(req, res) {
      // Express-style mounting: the provider routes on `url` and derives its own URLs
      // from `originalUrl` minus `url`, so endpoints in discovery keep the mount path.
      const original = req.url ?? "/";
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = original;
      req.url = original.startsWith(mountPath) ? original.slice(mountPath.length) || "/" : original;
      void callback(req, res);
    },
  };
}

/**
 * Reads a JSON file or creates it with owner-only permissions. These files hold client
 * secrets and private keys: never group- or world-readable.
 */
async function loadOrCreateJson<T>(path: string, create: () => T | Promise<T>): Promise<T> {
  try {
    const existing = JSON.parse(await readFile(path, "utf8")) as T;
    await chmod(path, 0o600);
    return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const value = await create();
  await writeFile(path, JSON.stringify(value, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  return value;
}

/**
 * The provider's own in-memory adapter prints a warning at every start; client
 * credentials JWTs are stateless, so this small one is all the dev provider needs.
 */
function createMemoryAdapter(): Adapter {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number | undefined }>();
  const live = (id: string): AdapterPayload | undefined => {
    const entry = store.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(id);
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (predicate: (payload: AdapterPayload) => boolean) => [...store.keys()].map(live).find((p) => p !== undefined && predicate(p));
  return {
    upsert(id, payload, expiresIn) {
      store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      return Promise.resolve();
    },
    find: (id) => Promise.resolve(live(id)),
    findByUid: (uid) => Promise.resolve(findBy((p) => p.uid === uid)),
    findByUserCode: (userCode) => Promise.resolve(findBy((p) => p.userCode === userCode)),
    consume(id) {
      const payload = live(id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    },
    destroy: (id) => Promise.resolve(void store.delete(id)),
    revokeByGrantId(grantId) {
      for (const [id, entry] of store) if (entry.payload.grantId === grantId) store.delete(id);
      return Promise.resolve();
    },
  };
}
