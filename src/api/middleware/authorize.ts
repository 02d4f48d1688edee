import type { MiddlewareHandler } from "hono";
import { GRANT_PERMISSIONS, isAllowed, type GrantPermission } from "../../auth/policy.js";
import type { AccessControl } from "../../auth/access-control.js";
import { isLedgerError, LedgerError } from "../../core/index.js";
import type { AppEnv } from "../context.js";
import { mark, STAGE } from "../../ledger/append-trace.js";
import type { RouteDefinition } from "../routes.js";

const REALM = "annal";

/**
 * The one place access is decided, in front of every route's handler (and its body
 * limit, so an unauthenticated caller never gets a body read). Deny by default: a route
 * is reachable without a token only if it declares `public`, and with one only if a
 * grant of the caller's roles names its permission on its domain. Routes with a
 * `:streamId` are scoped to that stream; every other route works on the whole log and
 * needs a grant on `*`.
 */
export function authorize(route: Pick<RouteDefinition, "permission" | "path" | "domainFiltered">, access: AccessControl): MiddlewareHandler<AppEnv> {
  const permission: string = route.permission;
  const streamScoped = route.path.split("/").includes(":streamId");
  return async function authorize(c, next) {
    if (permission === "public") return next();
    const authorization = c.req.header("Authorization");
    let principal;
    try {
      principal = await access.authenticate(authorization);
    } catch (error) {
      if (isLedgerError(error, "ERR_UNAUTHENTICATED")) c.header("WWW-Authenticate", challenge(error, authorization));
      throw error;
    }
    const streamId = streamScoped ? c.req.param("streamId") : undefined;
    // A domain-filtered route needs the permission somewhere; its handler answers only for the granted domains.
    const allowed = isGrantPermission(permission) && (route.domainFiltered === true
      ? principal.grants.some((grant) => grant.permissions.includes(permission) && grant.streams.length > 0)
      : !(streamScoped && streamId === undefined) && isAllowed(principal.grants, { permission, streamId }));
    if (!allowed) {
      c.get("logger").info({ subject: principal.subject, permission, streamId }, "access denied");
      throw new LedgerError("ERR_FORBIDDEN", streamId === undefined ? `${permission} on all streams is required` : `${permission} on stream ${streamId} is required`, {
        details: { permission, ...(streamId === undefined ? {} : { streamId }) },
      });
    }
    c.set("principal", principal);
    mark(c.get("timeline"), STAGE.authorised);
    return next();
  };
}

// RFC 6750 §3: no error code when no bearer token was sent; `invalid_token` with a description otherwise.
function challenge(error: LedgerError, authorization: string | undefined): string {
  if (authorization === undefined || !/^bearer /i.test(authorization.trim())) return `Bearer realm="${REALM}"`;
  return `Bearer realm="${REALM}", error="invalid_token", error_description="${error.message.replace(/["\\]/g, "'")}"`;
}

function isGrantPermission(value: string): value is GrantPermission {
  return (GRANT_PERMISSIONS as readonly string[]).includes(value);
}
