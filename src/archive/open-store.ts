import { fileURLToPath } from "node:url";
import { LedgerError } from "../core/index.js";
import { createDirectoryObjectStore } from "./directory-object-store.js";
import type { ObjectStore } from "./object-store.js";
import { createS3ObjectStore } from "./s3-object-store.js";
import type { WatchedSecret } from "../secrets/index.js";

export interface ArchiveLocation {
  store: ObjectStore;
  /** Object names start with this (`segments/` when the URL gives no prefix). */
  prefix: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Opens ANNAL_ARCHIVE: `s3://bucket/prefix` with the standard AWS_ENDPOINT_URL,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION, or `file:///path` (not WORM).
 * Credentials are read here, from `env`, and never kept in the configuration.
 */
export function openArchiveLocation(url: string, env: Env, keys?: S3Keys): ArchiveLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LedgerError("ERR_CONFIG", `ANNAL_ARCHIVE must be s3://bucket/prefix or file:///path, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === "file:") return { store: createDirectoryObjectStore(fileURLToPath(parsed)), prefix: "segments/" };
  if (parsed.protocol !== "s3:" || parsed.hostname === "") throw new LedgerError("ERR_CONFIG", `ANNAL_ARCHIVE must be s3://bucket/prefix or file:///path, got ${JSON.stringify(url)}`);
  const path = decodeURIComponent(parsed.pathname.replace(/^\/+/, ""));
  const prefix = path === "" ? "segments/" : path.endsWith("/") ? path : `${path}/`;
  const where = { bucket: parsed.hostname, endpoint: env.AWS_ENDPOINT_URL || undefined, region: env.AWS_REGION || "us-east-1" };
  if (keys !== undefined) {
    // From credential providers (ANNAL_S3_ACCESS_KEY / ANNAL_S3_SECRET_KEY), current at each request.
    const credentials = () => Promise.resolve({ accessKey: keys.accessKey.current().reveal(), secretKey: keys.secretKey.current().reveal() });
    return { store: createS3ObjectStore({ ...where, credentials }), prefix };
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new LedgerError("ERR_CONFIG", "an s3:// archive needs ANNAL_S3_ACCESS_KEY and ANNAL_S3_SECRET_KEY (secret URIs), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  const store = createS3ObjectStore({ ...where, accessKeyId, secretAccessKey });
  return { store, prefix };
}

/** The archive's S3 keys from credential providers, watched for rotation. */
export interface S3Keys {
  accessKey: WatchedSecret;
  secretKey: WatchedSecret;
}

/**
 * Refuses a bucket that is not evidence-grade: Object Lock must be on with a default
 * COMPLIANCE retention of at least `retentionDays` (GOVERNANCE can be bypassed by a
 * privileged user; a shorter default would leave a window). A non-WORM store passes
 * only where the caller allows it (development).
 */
export async function assertArchiveLocked(store: ObjectStore, retentionDays: number): Promise<void> {
  if (!store.worm) return;
  const lock = await store.lockConfiguration();
  if (!lock.enabled) throw new LedgerError("ERR_CONFIG", `${store.description}: Object Lock is not enabled on the bucket (MinIO and S3 enable it only when the bucket is created: create a new bucket with --with-lock)`);
  const rule = lock.defaultRetention;
  if (!rule) throw new LedgerError("ERR_CONFIG", `${store.description}: the bucket has no default retention: set a default COMPLIANCE retention of at least ${retentionDays} days`);
  if (rule.mode !== "COMPLIANCE") throw new LedgerError("ERR_CONFIG", `${store.description}: the bucket's default retention is ${rule.mode}, which privileged users can bypass: use COMPLIANCE`);
  if (rule.days < retentionDays) throw new LedgerError("ERR_CONFIG", `${store.description}: the bucket's default retention is ${rule.days} days, shorter than ANNAL_ARCHIVE_RETENTION_DAYS=${retentionDays}`);
}
