import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { isLedgerError, LedgerError } from "../core/index.js";

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
  /** Timeout of each discovery and JWKS request. Default 2000 ms, inside the request bound. */
  timeoutMs?: number;
  /**
   * After a failed discovery or JWKS fetch, no new fetch for this long: requests that need
   * one are refused with ERR_UNAVAILABLE at once instead of each waiting for, and adding
   * to the load on, an issuer that is down. Cached keys go on verifying until they are
   * older than jwksCacheMaxAgeMs. Default 5000 ms.
   */
  issuerRetryMs?: number;
  /**
   * How long a token, once verified, is answered from memory (by its exact text) instead of
   * verified again: never past its `exp`. A token's signature verification costs more CPU
   * than the rest of an append (ES256 about 210 µs here); a writer sends the same token on
   * every request. 0 turns it off. Default 60 s. A token whose key leaves the JWKS is
   * therefore still accepted for at most this long.
   */
  verifiedCacheSeconds?: number;
  /** Most verified tokens held; the oldest is dropped first. Default 10,000. */
  verifiedCacheEntries?: number;
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
  const timeoutMs = options.timeoutMs ?? 2000;
  const issuerRetryMs = options.issuerRetryMs ?? 5000;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  // When a fetch from the issuer last failed (ms since the epoch; jose's cache uses Date.now too).
  let failedAt = Number.NEGATIVE_INFINITY;
  const issuerDown = () => Date.now() - failedAt < issuerRetryMs;
  const unavailable = (cause?: unknown) => new LedgerError("ERR_UNAVAILABLE", "the token issuer cannot be reached", { cause, retriable: true, details: { retryAfterSeconds: Math.ceil(issuerRetryMs / 1000) } });

  // Discovery runs once, lazily: the embedded issuer only answers once the server listens.
  // A failed discovery is forgotten so a later request retries instead of failing forever,
  // but not before issuerRetryMs: a down issuer costs one fetch per interval, not one per request.
  function keySet(): Promise<JWTVerifyGetKey> {
    if (keys === undefined && issuerDown()) return Promise.reject(unavailable());
    keys ??= discoverJwksUri(fetchImpl, options.issuer, timeoutMs).then(
      (jwksUri) =>
        guardKeySet(
          createRemoteJWKSet(new URL(jwksUri), {
            cooldownDuration: options.jwksCooldownMs ?? 30_000,
            cacheMaxAge: options.jwksCacheMaxAgeMs ?? 10 * 60_000,
            timeoutDuration: timeoutMs,
            [customFetch]: fetchImpl,
          }),
        ),
      (error: unknown) => {
        keys = undefined;
        failedAt = Date.now();
        throw error;
      },
    );
    return keys;
  }

  /**
   * jose refetches when its cache is stale or a `kid` is unknown, and remembers no failed
   * fetch: with the issuer down, every such request would wait for a fetch of its own.
   * While the issuer is known down, verify against the cached keys only if they are still
   * fresh and hold the token's `kid`; otherwise refuse with 503 without fetching.
   */
  function guardKeySet(remote: ReturnType<typeof createRemoteJWKSet>): JWTVerifyGetKey {
    return async function getKey(header, token) {
      if (issuerDown()) {
        const cached = remote.fresh ? remote.jwks() : undefined;
        if (cached === undefined || !cached.keys.some((k) => k.kid === header.kid)) throw unavailable();
        return createLocalJWKSet(cached)(header, token);
      }
      try {
        return await remote(header, token);
      } catch (error) {
        if (isFetchFailure(error)) {
          failedAt = Date.now();
          throw unavailable(error);
        }
        throw error;
      }
    };
  }

  const cacheMs = (options.verifiedCacheSeconds ?? 60) * 1000;
  const cacheEntries = options.verifiedCacheEntries ?? 10_000;
  const verified = new Map<string, { token: VerifiedToken; until: number }>();
  const now = () => (deps.now ? deps.now().getTime() : Date.now());

  function remember(token: string, result: VerifiedToken): void {
    const at = now();
    // jwtVerify required `exp`; a missing one would make `until` NaN and nothing is kept.
    const until = Math.min(Number(result.claims.exp) * 1000, at + cacheMs);
    if (!(until > at)) return;
    if (verified.size >= cacheEntries) verified.delete(verified.keys().next().value!);
    verified.set(token, { token: result, until });
  }

  return {
    verify(token) {
      const hit = verified.get(token);
      if (hit !== undefined) {
        if (now() < hit.until) return Promise.resolve(hit.token);
        verified.delete(token);
      }
      return verifyFully(token).then((result) => {
        remember(token, result);
        return result;
      });
    },
  };

  async function verifyFully(token: string): Promise<VerifiedToken> {
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await keySet();
    } catch (cause) {
      // The client did nothing wrong; the issuer is unreachable. 503, retriable.
      throw isLedgerError(cause) ? cause : unavailable(cause);
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
  }
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

/**
 * The key set could not be had: a network error, a timeout, or an answer that is not a
 * JWKS (jose throws its base JOSEError for a non-200 status). Not a verdict on the token.
 */
function isFetchFailure(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error.constructor === errors.JOSEError || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid;
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
