import { open, stat } from "node:fs/promises";
import { constants, type Stats } from "node:fs";
import { LedgerError } from "../core/index.js";
import { Secret } from "./secret.js";
import type { SecretProvider } from "./secret-provider.js";

export interface FileSecretOptions {
  /** How long a read is trusted before the file is stat-ed again (default 1000 ms). */
  checkIntervalMs?: number;
  now?: () => number;
}

/**
 * `file:/path`: a file holding the value (one trailing newline is dropped), as mounted by
 * Kubernetes, Docker secrets or a Vault agent. Refused unless it is a regular file (a
 * symlink to one is followed, as Kubernetes mounts them) that neither group nor others may
 * read or write. Re-read when it changes: at most every `checkIntervalMs` a stat compares
 * inode, size and times; a Kubernetes update swaps a symlink, which changes the inode.
 */
export function createFileSecretProvider(name: string, path: string, options: FileSecretOptions = {}): SecretProvider {
  const checkIntervalMs = options.checkIntervalMs ?? 1000;
  const now = options.now ?? Date.now;
  let cached: { secret: Secret; stamp: string; checkedAt: number } | undefined;

  async function read(): Promise<Secret> {
    const info = await statOrFail(name, path);
    const stamp = fingerprint(info);
    if (cached !== undefined && cached.stamp === stamp) {
      cached.checkedAt = now();
      return cached.secret;
    }
    // Opened once and checked on the descriptor, so the checked file is the file read.
    const handle = await open(path, constants.O_RDONLY).catch((cause: unknown) => {
      throw new LedgerError("ERR_CONFIG", `${name}: cannot open secret file ${path}`, { cause });
    });
    try {
      const opened = await handle.stat();
      assertPrivateFile(name, path, opened);
      const text = (await handle.readFile("utf8")).replace(/\r?\n$/, "");
      if (text === "") throw new LedgerError("ERR_CONFIG", `${name}: secret file ${path} is empty`);
      cached = { secret: new Secret(name, text), stamp: fingerprint(opened), checkedAt: now() };
      return cached.secret;
    } finally {
      await handle.close();
    }
  }

  return {
    source: `file:${path}`,
    get(getOptions = {}) {
      if (!getOptions.fresh && cached !== undefined && now() - cached.checkedAt < checkIntervalMs) return Promise.resolve(cached.secret);
      return read();
    },
    close: () => Promise.resolve(),
  };
}

async function statOrFail(name: string, path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `${name}: secret file ${path} cannot be read`, { cause });
  }
}

function assertPrivateFile(name: string, path: string, info: Stats): void {
  if (!info.isFile()) throw new LedgerError("ERR_CONFIG", `${name}: secret file ${path} is not a regular file`);
  if ((info.mode & 0o066) !== 0) {
    throw new LedgerError("ERR_CONFIG", `${name}: secret file ${path} may be read or written by group or others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it (Kubernetes: defaultMode 0400)`);
  }
}

function fingerprint(info: Stats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}:${info.mode}`;
}
