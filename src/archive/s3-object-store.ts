import * as Minio from "minio";
import { LedgerError } from "../core/index.js";
import { sortVersions, type LockConfiguration, type ObjectStore, type ObjectVersion, type Retention } from "./object-store.js";

export interface S3StoreOptions {
  bucket: string;
  /** The standard AWS_ENDPOINT_URL (http(s)://host:port); AWS itself when absent. */
  endpoint: string | undefined;
  region: string;
  /**
   * Static keys, or a function asked before every request (credential providers,
   * src/secrets: a rotated key is used from the next request on).
   */
  accessKeyId?: string;
  secretAccessKey?: string;
  credentials?: () => Promise<{ accessKey: string; secretKey: string }>;
  /**
   * Longest wait for one operation (minio-js has no request timeout of its own): past it
   * the operation fails as retriable, so an endpoint that accepts connections and never
   * answers cannot stall the sealer. Default 300,000 ms (a 100 MB bundle on a slow link).
   */
  requestTimeoutMs?: number;
}

/**
 * S3 / MinIO through the `minio` client. Object Lock is never requested through
 * putObject headers (minio-js turns them into user metadata, `x-amz-meta-…`): the bucket's
 * default COMPLIANCE retention locks each new version, and `setRetention` lengthens it.
 */
export function createS3ObjectStore(options: S3StoreOptions): ObjectStore {
  const endpoint = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
  const useSSL = endpoint.protocol === "https:";
  const client = new Minio.Client({
    endPoint: endpoint.hostname,
    port: endpoint.port === "" ? (useSSL ? 443 : 80) : Number(endpoint.port),
    useSSL,
    region: options.region,
    ...(options.credentials ? { credentialsProvider: credentialsProvider(options.credentials) } : { accessKey: options.accessKeyId, secretKey: options.secretAccessKey }),
    pathStyle: true,
  });
  const { bucket } = options;
  const timeoutMs = options.requestTimeoutMs ?? 300_000;
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LedgerError("ERR_UNAVAILABLE", `${what} (s3://${bucket}): no answer in ${timeoutMs} ms`, { retriable: true })), timeoutMs);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (error) {
      throw asStoreError(error, `${what} (s3://${bucket})`);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    description: `s3://${bucket} at ${endpoint.host}`,
    worm: true,
    lockConfiguration: () =>
      call("reading the Object Lock configuration", async () => {
        let info: Minio.ObjectLockInfo;
        try {
          info = await (client.getObjectLockConfig(bucket) as unknown as Promise<Minio.ObjectLockInfo>);
        } catch (error) {
          if ((error as { code?: string }).code === "ObjectLockConfigurationNotFoundError") return { enabled: false };
          throw error;
        }
        if (!("objectLockEnabled" in info) || info.objectLockEnabled !== "Enabled") return { enabled: false };
        const config: LockConfiguration = { enabled: true };
        if (info.mode && info.validity) config.defaultRetention = { mode: info.mode, days: String(info.unit).toLowerCase().startsWith("year") ? info.validity * 365 : info.validity };
        return config;
      }),
    put: (name, bytes) =>
      call(`writing ${name}`, async () => {
        const result = await client.putObject(bucket, name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength, { "Content-Type": "application/x-tar" });
        if (!result.versionId) throw new LedgerError("ERR_CONFIG", `s3://${bucket} did not return a version id: versioning (Object Lock) is off`);
        return { versionId: result.versionId };
      }),
    get: (name, versionId) =>
      call(`reading ${name}`, async () => {
        const stream = await client.getObject(bucket, name, { versionId });
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return new Uint8Array(Buffer.concat(chunks));
      }),
    listVersions: (prefix) =>
      call("listing versions", async () => {
        const versions: ObjectVersion[] = [];
        const stream = client.listObjects(bucket, prefix, true, { IncludeVersion: true });
        for await (const item of stream) {
          const v = item as { name?: string; size?: number; lastModified?: Date; versionId?: string; isLatest?: unknown; isDeleteMarker?: boolean };
          if (!v.name) continue;
          versions.push({
            name: v.name,
            versionId: v.versionId ?? "null",
            deleteMarker: v.isDeleteMarker === true,
            latest: String(v.isLatest) === "true",
            size: v.size ?? 0,
            lastModified: v.lastModified ?? new Date(0),
          });
        }
        return sortVersions(versions);
      }),
    setRetention: (name, versionId, retainUntil) =>
      call(`setting the retention of ${name}`, () => client.putObjectRetention(bucket, name, { versionId, mode: "COMPLIANCE" as Minio.RETENTION_MODES, retainUntilDate: retainUntil.toISOString() })),
    getRetention: (name, versionId) =>
      call(`reading the retention of ${name}`, async (): Promise<Retention> => {
        let info: Awaited<ReturnType<typeof client.getObjectRetention>>;
        try {
          info = await client.getObjectRetention(bucket, name, { versionId });
        } catch (error) {
          if ((error as { code?: string }).code === "NoSuchObjectLockConfiguration") return { mode: undefined, retainUntil: undefined };
          throw error;
        }
        const mode = info?.mode as string | undefined;
        return { mode: mode === "COMPLIANCE" || mode === "GOVERNANCE" ? mode : undefined, retainUntil: info?.retainUntilDate ? new Date(info.retainUntilDate) : undefined };
      }),
    setLegalHold: (name, versionId, on) =>
      call(`setting the legal hold of ${name}`, () => client.setObjectLegalHold(bucket, name, { versionId, status: (on ? "ON" : "OFF") }) as unknown as Promise<void>),
    getLegalHold: (name, versionId) =>
      call(`reading the legal hold of ${name}`, async () => {
        // minio-js types this as the bare status, but resolves the parsed XML: { Status: "ON" }.
        let hold: unknown;
        try {
          hold = await client.getObjectLegalHold(bucket, name, { versionId });
        } catch (error) {
          // A version that never had a hold answers "no lock configuration": no hold.
          if ((error as { code?: string }).code === "NoSuchObjectLockConfiguration") return false;
          throw error;
        }
        const status = typeof hold === "string" ? hold : (hold as { Status?: string } | undefined)?.Status;
        return status === "ON";
      }),
    remove: (name, versionId) => call(`deleting ${name}`, () => client.removeObject(bucket, name, versionId === undefined ? {} : { versionId })),
  };
}

/** Network failures and 5xx are retriable; refusals (403 on a locked version, 404) are not. */
function asStoreError(error: unknown, what: string): LedgerError {
  if (error instanceof LedgerError) return error;
  const e = error as { code?: string; message?: string; $metadata?: unknown; statusCode?: number };
  const network = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_SOCKET"].includes(e.code ?? "");
  const server = typeof e.code === "string" && /^(InternalError|ServiceUnavailable|SlowDown|RequestTimeout|XMinioServerNotInitialized)$/.test(e.code);
  const retriable = network || server || (typeof e.statusCode === "number" && e.statusCode >= 500);
  return new LedgerError(retriable ? "ERR_UNAVAILABLE" : "ERR_ARCHIVE", `${what}: ${e.message ?? String(error)}`, { cause: error, retriable, details: { s3Code: e.code } });
}

/**
 * minio-js asks its credentials provider before every request (checkAndRefreshCreds); it
 * only needs the getters of its Credentials class, so a plain object serves (its
 * CredentialProvider class is not exported by the package's entry point).
 */
function credentialsProvider(get: () => Promise<{ accessKey: string; secretKey: string }>): NonNullable<Minio.ClientOptions["credentialsProvider"]> {
  return {
    async getCredentials() {
      const { accessKey, secretKey } = await get();
      return { getAccessKey: () => accessKey, getSecretKey: () => secretKey, getSessionToken: () => undefined };
    },
  } as unknown as NonNullable<Minio.ClientOptions["credentialsProvider"]>;
}
