/**
 * The object store the archive writes sealed segments to: the S3 operations the sealer
 * and the archive verifier need, nothing more (tessera's small-port rule). Two adapters:
 * MinIO/S3 (`createS3ObjectStore`, WORM when the bucket has Object Lock) and a local
 * directory (`createDirectoryObjectStore`, NOT WORM: development only). One contract
 * suite (test/integration/object-store-contract.test.ts) runs against both.
 *
 * Versions are the unit of evidence. Implementations MUST keep every version of a key
 * (a write never replaces an earlier version), MUST list delete markers as versions, and
 * MUST report a version's retention and legal hold as stored, never as requested.
 */
export interface ObjectStore {
  /** What a log line or a summary says about where segments go; says "NOT WORM" when it is not. */
  readonly description: string;
  /** True only where the storage itself enforces retention (S3 Object Lock). */
  readonly worm: boolean;
  /** The bucket's Object Lock configuration. */
  lockConfiguration(): Promise<LockConfiguration>;
  /** Writes a new version of `name`; resolves with its version id once durable. */
  put(name: string, bytes: Uint8Array): Promise<{ versionId: string }>;
  /** The bytes of one version. */
  get(name: string, versionId: string): Promise<Uint8Array>;
  /** Every version and delete marker under `prefix`, by name, newest first within a name. */
  listVersions(prefix: string): Promise<ObjectVersion[]>;
  /** Sets COMPLIANCE retention until `retainUntil` on one version (may only lengthen it). */
  setRetention(name: string, versionId: string, retainUntil: Date): Promise<void>;
  getRetention(name: string, versionId: string): Promise<Retention>;
  setLegalHold(name: string, versionId: string, on: boolean): Promise<void>;
  getLegalHold(name: string, versionId: string): Promise<boolean>;
  /** Deletes one version (refused while it is retained or held), or, with no version id, writes a delete marker. */
  remove(name: string, versionId?: string): Promise<void>;
}

export interface LockConfiguration {
  enabled: boolean;
  /** The bucket's default retention, when one is set. */
  defaultRetention?: { mode: "COMPLIANCE" | "GOVERNANCE"; days: number };
}

export interface ObjectVersion {
  name: string;
  versionId: string;
  deleteMarker: boolean;
  latest: boolean;
  size: number;
  lastModified: Date;
}

export interface Retention {
  mode: "COMPLIANCE" | "GOVERNANCE" | undefined;
  retainUntil: Date | undefined;
}

/** Newest first within a name; names in byte order (zero-padded positions sort in log order). */
export function sortVersions(versions: ObjectVersion[]): ObjectVersion[] {
  return versions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : b.lastModified.getTime() - a.lastModified.getTime() || (a.latest ? -1 : b.latest ? 1 : 0)));
}
