import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { LedgerError } from "../core/index.js";

/** Asymmetric algorithms only: `none` and HMAC would let anyone holding the public JWKS mint tokens. */
export const DEFAULT_TOKEN_ALGORITHMS: readonly string[] = ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"];
const FORBIDDEN_ALGORITHM = /^(none|HS\d+)$/i;
/** RFC 9068: the `typ` of a JWT access token; an ID token (`JWT`) is not an access token. */
export const ACCESS_TOKEN_TYPE = "at+jwt";

export interface TokenVerifierOptions {
  /** Exact issuer identifier; discovery is fetched from `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  audience: string;
  algorithms?: readonly string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`. Bounded by the config (at most 5 minutes). */
  clockToleranceSeconds?: number;
  /**
   * Least time between two JWKS fetches triggered by unknown `kid`s. A flood of tokens with
   * random `kid`s therefore costs the issuer at most one fetch per cooldown.
   */
  jwksCooldownMs?: number;
  /** Re-fetch the JWKS at least this often even when every `kid` is known (key rotation). */
  jwksCacheMaxAgeMs?: number;
  /** Timeout of each discovery and JWKS request. */
  timeoutMs?: number;
}

export interface TokenVerifierDeps {
  fetch?: typeof globalThis.fetch;
  /** Frozen time in tests (as jose's `currentDate`). */
  now?: () => Date;
}

export interface VerifiedToken {
  /** `sub`, or `client_id` for issuers that leave `sub` out of client-credentials tokens. */
  subject: string;
  claims: JWTPayload;
}

export interface TokenVerifier {
  /** Resolves with the claims of a valid access token; rejects with ERR_UNAUTHENTICATED. */
  verify(token: string): Promise<VerifiedToken>;
}

/**
 * Verifies OAuth 2.0 JWT access tokens (RFC 9068) against an OIDC issuer: discovery
 * document, then its JWKS through jose's remote key set (cached, with a refetch cooldown).
 *
 * @example
 * const verifier = createTokenVerifier({}, { issuer: "https://id.example.com", audience: "https://ledger.example.com" });
 * const { subject, claims } = await verifier.verify(bearerToken);
 */
export function createTokenVerifier(deps: TokenVerifierDeps, options: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_TOKEN_ALGORITHMS)];
  const refused = algorithms.filter((alg) => FORBIDDEN_ALGORITHM.test(alg));
  if (algorithms.length === 0 || refused.length > 0) {
    throw new LedgerError("ERR_CONFIG", `token algorithms must be asymmetric; refused: ${refused.join(", ") || "(empty list)"}`);
  }
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  let keys: Promise<JWTVerifyGetKey> | undefined;

  // Discovery runs once, lazily: the embedded issuer only answers once the server listens.
  // A failed discovery is forgotten so the next request retries instead of failing forever.
  function keySet(): Promise<JWTVerifyGetKey> {
    keys ??= discoverJwksUri(fetchImpl, options.issuer, timeoutMs).then(
      (jwksUri) =>
        createRemoteJWKSet(new URL(jwksUri), {
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 10 * 60_000,
          timeoutDuration: timeoutMs,
          [customFetch]: fetchImpl,
        }),
      (error: unknown) => {
        keys = undefined;
        throw error;
      },
    );
    return keys;
  }

  return {
    async verify(token) {
      let getKey: JWTVerifyGetKey;
      try {
        getKey = await keySet();
      } catch (cause) {
        // The client did nothing wrong; the issuer is unreachable. 503, retriable.
        throw new LedgerError("ERR_UNAVAILABLE", "the token issuer cannot be reached", { cause, retriable: true });
      }
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance,
          requiredClaims: ["exp", "iat"],
          ...(deps.now ? { currentDate: deps.now() } : {}),
        });
        const subject = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : typeof payload["client_id"] === "string" ? payload["client_id"] : "";
        if (subject === "") throw new LedgerError("ERR_UNAUTHENTICATED", "token has neither sub nor client_id");
        return { subject, claims: payload };
      } catch (error) {
        throw asUnauthenticated(error);
      }
    },
  };
}

async function discoverJwksUri(fetchImpl: typeof globalThis.fetch, issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await fetchImpl(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  if (!response.ok) throw new Error(`discovery ${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: the document's issuer MUST equal the one we asked, or a
  // compromised or misconfigured host could vouch for another issuer's keys.
  if (document.issuer !== issuer) throw new Error(`discovery ${url} names issuer ${JSON.stringify(document.issuer)}, expected ${JSON.stringify(issuer)}`);
  if (typeof document.jwks_uri !== "string") throw new Error(`discovery ${url} has no jwks_uri`);
  return document.jwks_uri;
}

/** What the client may learn: which check failed, never key material or issuer internals. */
function asUnauthenticated(error: unknown): LedgerError {
  if (error instanceof LedgerError) return error;
  // Not a verdict on the token (network failure or timeout while refetching keys): 503.
  if (!(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout) {
    return new LedgerError("ERR_UNAVAILABLE", "the token issuer cannot be reached", { cause: error, retriable: true });
  }
  let description = "token is invalid";
  if (error instanceof errors.JWTExpired) description = "token is expired";
  else if (error instanceof errors.JWTClaimValidationFailed) description = `token claim ${error.claim} is invalid (${error.reason})`;
  else if (error instanceof errors.JWSSignatureVerificationFailed) description = "token signature is invalid";
  else if (error instanceof errors.JWKSNoMatchingKey) description = "token is signed by an unknown key";
  else if (error instanceof errors.JOSEAlgNotAllowed) description = "token algorithm is not allowed";
  else if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) description = "token is malformed";
  return new LedgerError("ERR_UNAUTHENTICATED", description, { cause: error });
}
