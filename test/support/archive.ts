import * as Minio from "minio";
import type { ObjectStore } from "../../src/archive/object-store.js";
import { createS3ObjectStore } from "../../src/archive/s3-object-store.js";
import { randomName, s3Config } from "./services.js";

/** A fresh bucket on the suite's MinIO: Object Lock with a default retention (COMPLIANCE, 1 day unless told), or none. */
export async function createLockedBucket(lock: { mode: "COMPLIANCE" | "GOVERNANCE"; days: number } | "none" | "no-default" = { mode: "COMPLIANCE", days: 1 }): Promise<{ bucket: string; store: ObjectStore; client: Minio.Client }> {
  const config = s3Config();
  const client = new Minio.Client(config);
  const bucket = randomName("archive");
  await client.makeBucket(bucket, "", lock === "none" ? {} : { ObjectLocking: true });
  if (typeof lock === "object") await (client.setObjectLockConfig(bucket, { mode: lock.mode, unit: "Days", validity: lock.days }) as unknown as Promise<void>);
  const store = createS3ObjectStore({ bucket, endpoint: `http://${config.endPoint}:${config.port}`, region: "us-east-1", accessKeyId: config.accessKey, secretAccessKey: config.secretKey });
  return { bucket, store, client };
}

