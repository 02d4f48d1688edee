import { readFileSync } from "node:fs";
import type { JWTPayload } from "jose";
import { LedgerError } from "../core/index.js";

/** What a grant can allow. `admin:*` covers every administrative route. */
export type GrantPermission = "events:append" | "events:read" | "audit:read" | "metrics:read" | "admin:*";
export const GRANT_PERMISSIONS: readonly GrantPermission[] = ["events:append", "events:read", "audit:read", "metrics:read", "admin:*"];

export interface Grant {
  permissions: readonly GrantPermission[];
  /**
   * Stream domains: stream ids or globs where `*` matches any run of characters
   * (`payments-*`, `*`). Routes over the whole log need a grant on exactly `*`.
   */
  streams: readonly string[];
}

export interface RbacPolicy {
  /** Role name → grants. Roles a token names that are not here grant nothing. */
  roles: Readonly<Record<string, readonly Grant[]>>;
}

/**
 * The policy when ANNAL_RBAC_POLICY_FILE is unset. Writers also read (a writer must see
 * a stream to append with an expected version); auditors read the log and its evidence
 * but cannot write; admins hold everything.
 */
export const DEFAULT_POLICY: RbacPolicy = {
  roles: {
    writer: [{ permissions: ["events:append", "events:read"], streams: ["*"] }],
    reader: [{ permissions: ["events:read"], streams: ["*"] }],
    auditor: [{ permissions: ["events:read", "audit:read", "metrics:read"], streams: ["*"] }],
    admin: [{ permissions: GRANT_PERMISSIONS, streams: ["*"] }],
  },
};

/** What a request needs: a permission on a stream domain, or on the whole log. */
export interface AccessRequirement {
  permission: GrantPermission;
  /** The stream the route works on; undefined for routes over the whole log. */
  streamId?: string | undefined;
}

/**
 * Deny by default: allowed only if one grant of one role names the permission and a
 * stream pattern covering the stream (or `*` itself when there is no single stream).
 */
export function isAllowed(grants: readonly Grant[], requirement: AccessRequirement): boolean {
  return grants.some(
    (grant) =>
      grant.permissions.includes(requirement.permission) &&
      grant.streams.some((pattern) => (requirement.streamId === undefined ? pattern === "*" : matchesStreamPattern(pattern, requirement.streamId))),
  );
}

export function matchesStreamPattern(pattern: string, streamId: string): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*")) return pattern === streamId;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${source}$`, "s").test(streamId);
}

/** The grants of the roles a token carries, in `scope` and in the configured roles claim. */
export function grantsFor(policy: RbacPolicy, roles: readonly string[]): Grant[] {
  return roles.flatMap((role) => (Object.hasOwn(policy.roles, role) ? (policy.roles[role] ?? []) : []));
}

/**
 * Role names from the token: the space-separated `scope` plus the roles claim, which may
 * be a dotted path (`realm_access.roles` for Keycloak) holding an array or a
 * space-separated string.
 */
export function rolesFromClaims(claims: JWTPayload, rolesClaim: string): string[] {
  const roles = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string") for (const part of value.split(" ")) if (part !== "") roles.add(part);
    if (Array.isArray(value)) for (const item of value) if (typeof item === "string" && item !== "") roles.add(item);
  };
  add(claims.scope);
  let value: unknown = claims;
  for (const key of rolesClaim.split(".")) {
    value = typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  add(value);
  return [...roles];
}

/** Validates a policy document at the edge: unknown permissions or empty grants are refused, not ignored. */
export function parsePolicy(input: unknown, source = "policy"): RbacPolicy {
  const fail = (message: string): never => {
    throw new LedgerError("ERR_CONFIG", `${source}: ${message}`);
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("must be a JSON object with a `roles` object");
  const rolesInput = (input as Record<string, unknown>)["roles"];
  if (typeof rolesInput !== "object" || rolesInput === null || Array.isArray(rolesInput)) return fail("`roles` must be an object of role name → grants");
  const roles: Record<string, Grant[]> = {};
  for (const [role, grantsInput] of Object.entries(rolesInput)) {
    if (!Array.isArray(grantsInput)) return fail(`role ${role}: grants must be an array`);
    roles[role] = grantsInput.map((grant: unknown, index) => {
      const where = `role ${role}, grant ${index}`;
      if (typeof grant !== "object" || grant === null) return fail(`${where}: must be an object`);
      const { permissions, streams } = grant as Record<string, unknown>;
      if (!Array.isArray(permissions) || permissions.length === 0) return fail(`${where}: permissions must be a non-empty array`);
      for (const p of permissions) if (!GRANT_PERMISSIONS.includes(p as GrantPermission)) fail(`${where}: unknown permission ${JSON.stringify(p)}; known: ${GRANT_PERMISSIONS.join(", ")}`);
      if (!Array.isArray(streams) || streams.length === 0) return fail(`${where}: streams must be a non-empty array of stream ids or globs`);
      for (const s of streams) if (typeof s !== "string" || s === "") fail(`${where}: stream patterns must be non-empty strings`);
      return { permissions: permissions as GrantPermission[], streams: streams as string[] };
    });
  }
  return { roles };
}

export function loadPolicyFile(path: string): RbacPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `ANNAL_RBAC_POLICY_FILE ${path} cannot be read`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `ANNAL_RBAC_POLICY_FILE ${path} is not valid JSON`, { cause });
  }
  return parsePolicy(json, path);
}
