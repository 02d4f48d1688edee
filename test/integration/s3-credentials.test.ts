import { describe, expect, it } from "vitest";
import { openArchiveLocation } from "../../src/archive/open-store.js";
import { createMemorySecretProvider, watchSecret } from "../../src/secrets/index.js";
import { createLockedBucket } from "../support/archive.js";
import { s3Config } from "../support/services.js";

// The archive's S3 keys from credential providers, against the suite's real MinIO: the
// minio client asks for them before every request, so a rotated key is used from the
// next request on, by the same store (no restart, no new client).

describe("S3 keys from credential providers", () => {
  it("signs each request with the provider's current keys: a wrong key fails, the rotated right one works on the same store", async () => {
    const { bucket } = await createLockedBucket();
    const s3 = s3Config();
    const accessKeyProvider = createMemorySecretProvider("ANNAL_S3_ACCESS_KEY", s3.accessKey);
    const secretKeyProvider = createMemorySecretProvider("ANNAL_S3_SECRET_KEY", `${s3.secretKey}-not-any-more`);
    const accessKey = await watchSecret(accessKeyProvider, { intervalMs: 60_000 });
    const secretKey = await watchSecret(secretKeyProvider, { intervalMs: 60_000 });
    const { store } = openArchiveLocation(`s3://${bucket}/evidence`, { AWS_ENDPOINT_URL: `http://${s3.endPoint}:${s3.port}`, AWS_REGION: "us-east-1" }, { accessKey, secretKey });
    try {
      const refused = await store.put("evidence/one.tar", new Uint8Array([1])).then(() => undefined, (error: unknown) => error as Error);
      expect(refused).toBeInstanceOf(Error);
      expect(String(refused)).not.toContain(s3.secretKey);

      secretKeyProvider.set(s3.secretKey);
      expect(await secretKey.check()).toBe(true);
      const { versionId } = await store.put("evidence/one.tar", new Uint8Array([1, 2, 3]));
      expect(await store.get("evidence/one.tar", versionId)).toEqual(new Uint8Array([1, 2, 3]));

      secretKeyProvider.set(`${s3.secretKey}-rotated-away`);
      await secretKey.check();
      await expect(store.get("evidence/one.tar", versionId)).rejects.toThrow();
    } finally {
      await accessKey.close();
      await secretKey.close();
    }
  });
});
