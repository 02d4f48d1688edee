import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: scripts/services/ is two levels below it. */
export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export interface CacheLayout {
  /** Shared across checkouts: downloads and builds (Kafka jars, MinIO binary). */
  root: string;
  /** Per checkout: state, logs, data. Keyed by the repo path so two checkouts never share ports or data. */
  instance: string;
  stateFile: string;
  logs: string;
}

/**
 * Where everything lives: `$ANNAL_CACHE`, else `$XDG_CACHE_HOME/annal`, else `~/.cache/annal`.
 * Downloads are shared so a second checkout starts in seconds; data is per instance.
 */
export function resolveCacheLayout(env: NodeJS.ProcessEnv = process.env, checkout: string = repoRoot): CacheLayout {
  const root = resolve(env.ANNAL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "annal"));
  const key = createHash("sha256").update(checkout).digest("hex").slice(0, 12);
  const instance = join(root, "instances", key);
  return { root, instance, stateFile: join(instance, "state.json"), logs: join(instance, "logs") };
}

export function ensureDir(path: string, mode = 0o755): string {
  mkdirSync(path, { recursive: true, mode });
  return path;
}
