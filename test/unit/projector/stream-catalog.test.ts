import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { defineProjection } from "../../../src/projector/index.js";
import { likePattern } from "../../../src/projector/stream-catalog.js";

describe("likePattern (RBAC globs as LIKE patterns)", () => {
  it.each([
    ["*", "%"],
    ["orders-*", "orders-%"],
    ["audit_trail", "audit\\_trail"],
    ["a%b*", "a\\%b%"],
    ["back\\slash", "back\\\\slash"],
  ])("%s → %s", (glob, like) => expect(likePattern(glob)).toBe(like));
});

describe("projection settings", () => {
  it("reads ANNAL_PROJECTIONS as all, none or a list, and refuses bad names", () => {
    expect(loadConfig({}).projections).toBe("all");
    expect(loadConfig({ ANNAL_PROJECTIONS: "none" }).projections).toBe("none");
    expect(loadConfig({ ANNAL_PROJECTIONS: "streams, order_totals" }).projections).toEqual(["streams", "order_totals"]);
    expect(() => loadConfig({ ANNAL_PROJECTIONS: "Streams" })).toThrow(/ANNAL_PROJECTIONS/);
    expect(() => loadConfig({ ANNAL_PROJECTION_BATCH: "0" })).toThrow(/ANNAL_PROJECTION_BATCH/);
  });
});

describe("defineProjection", () => {
  const apply = () => Promise.resolve();
  it("refuses bad names, versions and handler shapes", () => {
    expect(() => defineProjection({ name: "Orders", version: 1, apply })).toThrow(RangeError);
    expect(() => defineProjection({ name: "orders", version: 0, apply })).toThrow(RangeError);
    expect(() => defineProjection({ name: "orders", version: 1 })).toThrow(/exactly one/);
    expect(() => defineProjection({ name: "orders", version: 1, apply, applyBatch: apply })).toThrow(/exactly one/);
    expect(defineProjection({ name: "orders", version: 2, apply }).version).toBe(2);
  });
});
