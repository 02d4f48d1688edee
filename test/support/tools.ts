import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { resolveCacheLayout } from "../../scripts/services/cache.js";

// External programs the API-contract tests drive. Missing is a failure with the remedy,
// never a skip: `npm test` installs both first (scripts/test-tools.sh).
const REMEDY = "run `npm run test-tools` (installs schemathesis from PyPI into the Annal cache and, as root, Debian's chromium)";

export const SCHEMATHESIS_VERSION = "4.32.5";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `st` command of the pinned schemathesis, installed by scripts/test-tools.sh. */
export function schemathesisCommand(): string {
  const path = join(resolveCacheLayout().root, "tools", `schemathesis-${SCHEMATHESIS_VERSION}`, "bin", "st");
  if (!executable(path)) throw new Error(`schemathesis ${SCHEMATHESIS_VERSION} is not installed at ${path}: ${REMEDY}`);
  return path;
}

/** Debian's chromium, or $ANNAL_CHROMIUM. */
export function chromiumCommand(): string {
  const candidates = [process.env.ANNAL_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => p !== undefined && p !== "");
  const found = candidates.find(executable);
  if (found === undefined) throw new Error(`chromium not found (tried ${candidates.join(", ")}): ${REMEDY}, or set ANNAL_CHROMIUM`);
  return found;
}
