// One contract for the archive's object-store port, run against both adapters: the real
// MinIO of the suite (a fresh Object Lock bucket) and the local directory store, which is
// NOT WORM and says so. Locked MinIO objects cannot be cleaned up, so the default
// retention is the least MinIO allows (1 day) on a throwaway bucket.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDirectoryObjectStore } from "../../src/archive/directory-object-store.js";
import type { ObjectStore } from "../../src/archive/object-store.js";
import { assertArchiveLocked } from "../../src/archive/open-store.js";
import { createLockedBucket } from "../support/archive.js";

const adapters: Array<[string, () => Promise<{ store: ObjectStore; close(): Promise<void> }>]> = [
  ["minio (Object Lock bucket)", async () => ({ store: (await createLockedBucket()).store, close: () => Promise.resolve() })],
  [
    "local directory (not WORM)",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "annal-archive-"));
      return { store: createDirectoryObjectStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(adapters)("object store contract: %s", (label, open) => {
  let store: ObjectStore;
  let close: () => Promise<void>;
  const name = "segments/0000000000000001-0000000000000003.tar";
  let first: string;

  beforeAll(async () => {
    const opened = await open();
    store = opened.store;
    close = () => opened.close();
    first = (await store.put(name, new TextEncoder().encode("first bytes"))).versionId;
  });
  afterAll(() => close());

  it("labels itself: WORM only where the storage enforces retention", () => {
    expect(store.worm).toBe(label.startsWith("minio"));
    if (!store.worm) expect(store.description).toMatch(/NOT WORM/);
  });

  it("reads back the bytes of a version", async () => {
    expect(new TextDecoder().decode(await store.get(name, first))).toBe("first bytes");
  });

  it("keeps every version: a second write over a key is a new version, the first still readable", async () => {
    const second = (await store.put(name, new TextEncoder().encode("forged bytes"))).versionId;
    expect(second).not.toBe(first);
    const versions = (await store.listVersions("segments/")).filter((v) => v.name === name);
    expect(versions.map((v) => v.versionId)).toEqual([second, first]);
    expect(versions.map((v) => v.latest)).toEqual([true, false]);
    expect(new TextDecoder().decode(await store.get(name, first))).toBe("first bytes");
  });

  it("lists a delete without a version id as a delete marker, and keeps the version", async () => {
    const other = "segments/0000000000000004-0000000000000009.tar";
    const { versionId } = await store.put(other, new Uint8Array([1, 2, 3]));
    await store.remove(other);
    const versions = (await store.listVersions("segments/")).filter((v) => v.name === other);
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatchObject({ deleteMarker: true, latest: true });
    expect(versions[1]).toMatchObject({ versionId, deleteMarker: false, size: 3 });
  });

  it("sets COMPLIANCE retention, reads it back, and refuses to shorten it or delete the version", async () => {
    const until = new Date(Date.now() + 2 * 86_400_000);
    until.setUTCMilliseconds(0);
    await store.setRetention(name, first, until);
    const retention = await store.getRetention(name, first);
    expect(retention.mode).toBe("COMPLIANCE");
    expect(retention.retainUntil?.getTime()).toBe(until.getTime());
    await expect(store.setRetention(name, first, new Date(until.getTime() - 3_600_000))).rejects.toThrow();
    await expect(store.remove(name, first)).rejects.toThrow();
    expect((await store.getRetention(name, first)).retainUntil?.getTime()).toBe(until.getTime());
  });

  it("sets and releases a legal hold", async () => {
    expect(await store.getLegalHold(name, first)).toBe(false);
    await store.setLegalHold(name, first, true);
    expect(await store.getLegalHold(name, first)).toBe(true);
    await store.setLegalHold(name, first, false);
    expect(await store.getLegalHold(name, first)).toBe(false);
  });

  it("lists names in log order", async () => {
    await store.put("segments/0000000000000010-0000000000000020.tar", new Uint8Array([9]));
    const names = [...new Set((await store.listVersions("segments/")).map((v) => v.name))];
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe(name);
  });
});

describe("Object Lock start-up check (real MinIO)", () => {
  it("accepts a default COMPLIANCE retention of at least the configured days", async () => {
    const { store } = await createLockedBucket({ mode: "COMPLIANCE", days: 2 });
    await expect(assertArchiveLocked(store, 2)).resolves.toBeUndefined();
  });

  it.each([
    ["a bucket without Object Lock", "none" as const, /Object Lock is not enabled/],
    ["a locked bucket with no default retention", "no-default" as const, /no default retention/],
    ["GOVERNANCE mode", { mode: "GOVERNANCE" as const, days: 5 }, /GOVERNANCE/],
    ["a default shorter than the policy", { mode: "COMPLIANCE" as const, days: 1 }, /1 days, shorter than ANNAL_ARCHIVE_RETENTION_DAYS=2/],
  ])("refuses %s", async (_label, lock, reason) => {
    const { store } = await createLockedBucket(lock);
    await expect(assertArchiveLocked(store, 2)).rejects.toMatchObject({ code: "ERR_CONFIG", message: expect.stringMatching(reason) });
  });
});
