// Identity and access: token verification, the RBAC policy, the embedded development issuer.
export { ANONYMOUS_SUBJECT, createAuthOff, createOidcAccessControl, type AccessControl, type Principal } from "./access-control.js";
export { createDevIdentityProvider, DEV_ROLES, type DevClient, type DevIdentityProvider } from "./dev-identity-provider.js";
export { DEFAULT_POLICY, GRANT_PERMISSIONS, grantsFor, isAllowed, loadPolicyFile, matchesStreamPattern, parsePolicy, rolesFromClaims, type Grant, type GrantPermission, type RbacPolicy } from "./policy.js";
export { ACCESS_TOKEN_TYPE, createTokenVerifier, DEFAULT_TOKEN_ALGORITHMS, type TokenVerifier, type VerifiedToken } from "./token-verifier.js";
