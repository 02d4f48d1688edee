import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, grantsFor, isAllowed, matchesStreamPattern, parsePolicy, rolesFromClaims } from "../../../src/auth/index.js";

describe("stream domain patterns", () => {
  it.each([
    ["*", "anything", true],
    ["payments-*", "payments-1", true],
    ["payments-*", "payments-", true],
    ["payments-*", "orders-1", false],
    ["payments-*", "xpayments-1", false],
    ["payments-1", "payments-1", true],
    ["payments-1", "payments-10", false],
    ["pay.ments-*", "payXments-1", false],
    ["*-eu", "orders-eu", true],
  ])("%s matches %s: %s", (pattern, streamId, expected) => {
    expect(matchesStreamPattern(pattern, streamId)).toBe(expected);
  });
});

describe("grants", () => {
  const scoped = [{ permissions: ["events:read" as const], streams: ["payments-*"] }];
  it("needs a grant on * for routes over the whole log", () => {
    expect(isAllowed(scoped, { permission: "events:read", streamId: "payments-1" })).toBe(true);
    expect(isAllowed(scoped, { permission: "events:read" })).toBe(false);
    expect(isAllowed([{ permissions: ["events:read"], streams: ["*"] }], { permission: "events:read" })).toBe(true);
  });

  it("denies by default: no roles, unknown roles, other permissions", () => {
    expect(isAllowed([], { permission: "events:read", streamId: "a" })).toBe(false);
    expect(grantsFor(DEFAULT_POLICY, ["root", "superuser", "__proto__", "constructor"])).toEqual([]);
    expect(isAllowed(scoped, { permission: "events:append", streamId: "payments-1" })).toBe(false);
  });
});

describe("roles from token claims", () => {
  it("reads scope and the configured claim, including a dotted path", () => {
    expect(rolesFromClaims({ scope: "reader openid", roles: ["writer"] }, "roles").sort()).toEqual(["openid", "reader", "writer"]);
    expect(rolesFromClaims({ realm_access: { roles: ["auditor"] } }, "realm_access.roles")).toEqual(["auditor"]);
    expect(rolesFromClaims({ roles: "admin" }, "groups")).toEqual([]);
  });
});

describe("policy documents", () => {
  it.each([
    [null, /JSON object/],
    [{ roles: [] }, /roles/],
    [{ roles: { w: {} } }, /grants must be an array/],
    [{ roles: { w: [{ permissions: [], streams: ["*"] }] } }, /non-empty/],
    [{ roles: { w: [{ permissions: ["events:read"], streams: [] }] } }, /streams/],
    [{ roles: { w: [{ permissions: ["*"], streams: ["*"] }] } }, /unknown permission/],
  ])("refuses %j", (input, message) => {
    expect(() => parsePolicy(input)).toThrow(message);
  });
});
