import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { LedgerError } from "../core/index.js";
import { sortVersions, type ObjectStore, type ObjectVersion, type Retention } from "./object-store.js";

const VERSIONS = ".versions";

interface VersionMeta {
  deleteMarker: boolean;
  lastModified: string;
  retainUntil?: string;
  legalHold?: boolean;
}

/**
 * The development archive: a local directory that keeps versions like S3 does
 * (`<root>/<name>.versions/<version id>` plus a small metadata file) and refuses to
 * delete a retained or held version. It is NOT WORM: anyone with access to the
 * directory can change or delete anything, so production refuses it. It exists so
 * `npm start` seals segments with no setup, and so the object-store contract has a
 * second adapter.
 */
export function createDirectoryObjectStore(root: string): ObjectStore {
  const dirOf = (name: string) => {
    if (name === "" || name.split("/").some((part) => part === "" || part === "." || part === ".." || part.endsWith(VERSIONS)) || name.includes("\\")) {
      throw new LedgerError("ERR_INVALID_INPUT", `object name ${JSON.stringify(name)} is not a plain relative path`);
    }
    return join(root, `${name}${VERSIONS}`);
  };
  let counter = 0;
  const newVersionId = () => `${Date.now().toString().padStart(15, "0")}-${(counter++).toString().padStart(6, "0")}-${randomBytes(4).toString("hex")}`;

  async function writeMeta(name: string, versionId: string, meta: VersionMeta): Promise<void> {
    await writeDurably(join(dirOf(name), `${versionId}.json`), Buffer.from(JSON.stringify(meta)));
  }
  async function readMeta(name: string, versionId: string): Promise<VersionMeta> {
    try {
      return JSON.parse(await readFile(join(dirOf(name), `${versionId}.json`), "utf8")) as VersionMeta;
    } catch (error) {
      throw notFound(name, versionId, error);
    }
  }
  async function addVersion(name: string, bytes: Uint8Array | undefined): Promise<string> {
    const versionId = newVersionId();
    await mkdir(dirOf(name), { recursive: true });
    if (bytes) await writeDurably(join(dirOf(name), `${versionId}.bin`), bytes);
    await writeMeta(name, versionId, { deleteMarker: bytes === undefined, lastModified: new Date().toISOString() });
    return versionId;
  }

  return {
    description: `file://${root} (local directory, NOT WORM: development only)`,
    worm: false,
    lockConfiguration: () => Promise.resolve({ enabled: false }),
    async put(name, bytes) {
      return { versionId: await addVersion(name, bytes) };
    },
    async get(name, versionId) {
      const meta = await readMeta(name, versionId);
      if (meta.deleteMarker) throw new LedgerError("ERR_NOT_FOUND", `${name} version ${versionId} is a delete marker`);
      return new Uint8Array(await readFile(join(dirOf(name), `${versionId}.bin`)));
    },
    async listVersions(prefix) {
      const out: ObjectVersion[] = [];
      for (const dir of await findVersionDirs(root)) {
        const name = relative(root, dir).split(sep).join("/").slice(0, -VERSIONS.length);
        if (!name.startsWith(prefix)) continue;
        const ids = (await readdir(dir)).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort().reverse();
        for (const [i, versionId] of ids.entries()) {
          const meta = await readMeta(name, versionId);
          const size = meta.deleteMarker ? 0 : (await stat(join(dir, `${versionId}.bin`))).size;
          out.push({ name, versionId, deleteMarker: meta.deleteMarker, latest: i === 0, size, lastModified: new Date(meta.lastModified) });
        }
      }
      return sortVersions(out);
    },
    async setRetention(name, versionId, retainUntil) {
      const meta = await readMeta(name, versionId);
      if (meta.retainUntil && new Date(meta.retainUntil) > retainUntil) throw new LedgerError("ERR_FORBIDDEN", `${name}: COMPLIANCE retention can only be lengthened`);
      await writeMeta(name, versionId, { ...meta, retainUntil: retainUntil.toISOString() });
    },
    async getRetention(name, versionId): Promise<Retention> {
      const meta = await readMeta(name, versionId);
      return { mode: meta.retainUntil ? "COMPLIANCE" : undefined, retainUntil: meta.retainUntil ? new Date(meta.retainUntil) : undefined };
    },
    async setLegalHold(name, versionId, on) {
      await writeMeta(name, versionId, { ...(await readMeta(name, versionId)), legalHold: on });
    },
    async getLegalHold(name, versionId) {
      return (await readMeta(name, versionId)).legalHold === true;
    },
    async remove(name, versionId) {
      if (versionId === undefined) {
        await addVersion(name, undefined);
        return;
      }
      const meta = await readMeta(name, versionId);
      if (meta.legalHold || (meta.retainUntil && new Date(meta.retainUntil) > new Date())) {
        throw new LedgerError("ERR_FORBIDDEN", `${name} version ${versionId} is retained or held (this directory store only refuses by convention: it is not WORM)`);
      }
      await rm(join(dirOf(name), `${versionId}.bin`), { force: true });
      await rm(join(dirOf(name), `${versionId}.json`));
    },
  };
}

async function findVersionDirs(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name.endsWith(VERSIONS)) found.push(path);
      else await walk(path);
    }
  };
  await walk(root);
  return found;
}

/** Write to a temporary file, fsync, rename: a crash leaves the old state or the new, never half a version. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

function notFound(name: string, versionId: string, cause: unknown): LedgerError {
  return new LedgerError("ERR_NOT_FOUND", `${name} has no version ${versionId}`, { cause });
}
