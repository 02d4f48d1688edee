import * as Minio from "minio";
import { beforeAll, describe, expect, it } from "vitest";
import { randomName, s3Config } from "../support/services.js";

// Object Lock is what makes an archive evidence: the server itself must refuse deletes and
// shortened retention. Locked objects cannot be cleaned up, so retention is kept short.
describe("minio smoke (Object Lock)", () => {
  const bucket = randomName("smoke");
  const object = "segment-000001.json";
  let client: Minio.Client;
  let versionId: string;
  const retainUntil = new Date(Date.now() + 10 * 60_000);
  retainUntil.setUTCMilliseconds(0);

  beforeAll(async () => {
    client = new Minio.Client(s3Config());
    await client.makeBucket(bucket, "", { ObjectLocking: true });
    const uploaded = await client.putObject(bucket, object, Buffer.from('{"segment":1}'), undefined, { "Content-Type": "application/json" });
    expect(uploaded.versionId).toBeTruthy();
    versionId = uploaded.versionId!;
    await client.putObjectRetention(bucket, object, { versionId, mode: "COMPLIANCE", retainUntilDate: retainUntil.toISOString() });
  });

  it("creates the bucket with Object Lock enabled", async () => {
    // The one-argument overload minio-js declares first returns void; the method is async.
    const lock = await (client.getObjectLockConfig(bucket) as unknown as Promise<Minio.ObjectLockInfo>);
    expect(lock).toMatchObject({ objectLockEnabled: "Enabled" });
  });

  it("reports the retention mode and date", async () => {
    const retention = await client.getObjectRetention(bucket, object, { versionId });
    expect(retention?.mode).toBe("COMPLIANCE");
    expect(new Date(retention!.retainUntilDate).getTime()).toBe(retainUntil.getTime());
  });

  it("refuses to delete the locked version", async () => {
    await expect(client.removeObject(bucket, object, { versionId })).rejects.toThrow(/WORM protected/);
    await expect(client.removeObject(bucket, object, { versionId, governanceBypass: true })).rejects.toThrow();
    const stat = await client.statObject(bucket, object, { versionId });
    expect(stat.versionId).toBe(versionId);
  });

  it("refuses to shorten COMPLIANCE retention", async () => {
    const shorter = new Date(retainUntil.getTime() - 5 * 60_000).toISOString();
    await expect(client.putObjectRetention(bucket, object, { versionId, mode: "COMPLIANCE", retainUntilDate: shorter })).rejects.toThrow();
    await expect(client.putObjectRetention(bucket, object, { versionId, mode: "GOVERNANCE", retainUntilDate: retainUntil.toISOString() })).rejects.toThrow();
    const retention = await client.getObjectRetention(bucket, object, { versionId });
    expect(new Date(retention!.retainUntilDate).getTime()).toBe(retainUntil.getTime());
  });

  it("sets and reads a legal hold", async () => {
    await (client.setObjectLegalHold(bucket, object, { versionId, status: "ON" }) as unknown as Promise<void>);
    // minio-js types this as the bare status, but resolves the parsed XML: { Status: "ON" }.
    const hold: unknown = await client.getObjectLegalHold(bucket, object, { versionId });
    expect(hold).toEqual({ Status: "ON" });
  });
});
