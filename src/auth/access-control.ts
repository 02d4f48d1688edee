import { LedgerError } from "../core/index.js";
import { GRANT_PERMISSIONS, grantsFor, rolesFromClaims, type Grant, type RbacPolicy } from "./policy.js";
import type { TokenVerifier } from "./token-verifier.js";

/** Who is calling, and what their roles let them do. */
export interface Principal {
  /** Token `sub` (or `client_id`); idempotency keys are scoped to it. */
  subject: string;
  roles: readonly string[];
  grants: readonly Grant[];
}

export interface AccessControl {
  readonly mode: "oidc" | "off";
  /**
   * The principal behind an `Authorization` header. Rejects with ERR_UNAUTHENTICATED when
   * the header is missing, not a Bearer token, or the token does not verify.
   */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** Until a token says otherwise, appends are scoped to this principal (auth off). */
export const ANONYMOUS_SUBJECT = "anonymous";

// RFC 6750 §2.1: b64token. Anything else is not a bearer token at all.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function createOidcAccessControl(deps: { verifier: TokenVerifier }, options: { policy: RbacPolicy; rolesClaim: string }): AccessControl {
  return {
    mode: "oidc",
    async authenticate(authorization) {
      const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
      if (match?.[1] === undefined) {
        throw new LedgerError("ERR_UNAUTHENTICATED", "a Bearer access token is required");
      }
      const { subject, claims } = await deps.verifier.verify(match[1]);
      const roles = rolesFromClaims(claims, options.rolesClaim);
      return { subject, roles, grants: grantsFor(options.policy, roles) };
    },
  };
}

/**
 * Authentication off: every caller is the anonymous principal holding every permission.
 * Only for development and tests that are not about auth; production refuses it.
 */
export function createAuthOff(): AccessControl {
  const principal: Principal = { subject: ANONYMOUS_SUBJECT, roles: [], grants: [{ permissions: GRANT_PERMISSIONS, streams: ["*"] }] };
  return {
    mode: "off",
    authenticate: () => Promise.resolve(principal),
  };
}
