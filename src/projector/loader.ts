import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LedgerError } from "../core/index.js";
import { PROJECTION_NAME_PATTERN, type LoadedProjection, type ProjectionDefinition } from "./define.js";

/** The projections shipped with Annal (the `projections/` folder of this package). */
export const BUILT_IN_PROJECTIONS_DIR = new URL("../../projections/", import.meta.url);

/**
 * Loads `<dir>/<name>/projection.ts` (or .js) and `<dir>/<name>/schema.sql` for every
 * folder (or only `names`). The code hash covers every file of the folder except tests,
 * so a changed handler, SQL or helper changes it.
 */
export async function loadProjections(dir: string | URL, names?: readonly string[]): Promise<LoadedProjection[]> {
  const root = typeof dir === "string" ? resolve(dir) : dir.pathname;
  const entries = await readdir(root, { withFileTypes: true }).catch((error: unknown) => {
    throw new LedgerError("ERR_CONFIG", `cannot read the projections folder ${root}: ${(error as Error).message}`);
  });
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && !e.name.startsWith("_")).map((e) => e.name).sort();
  const unknown = (names ?? []).filter((n) => !folders.includes(n));
  if (unknown.length > 0) throw new LedgerError("ERR_CONFIG", `no projection folder for ${unknown.join(", ")} in ${root} (found: ${folders.join(", ") || "none"})`);
  const loaded: LoadedProjection[] = [];
  for (const folder of folders) {
    if (names !== undefined && !names.includes(folder)) continue;
    loaded.push(await loadProjection(join(root, folder)));
  }
  return loaded;
}

export async function loadProjection(folder: string): Promise<LoadedProjection> {
  const files = (await readdir(folder)).filter((f) => !f.includes(".test.") && !f.startsWith(".")).sort();
  const handlerFile = files.find((f) => f === "projection.ts" || f === "projection.js");
  if (handlerFile === undefined || !files.includes("schema.sql")) {
    throw new LedgerError("ERR_CONFIG", `${folder} must hold projection.ts (the handler) and schema.sql (the read model)`);
  }
  const hash = createHash("sha256");
  for (const file of files) {
    const bytes = await readFile(join(folder, file));
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  const codeHash = hash.digest("hex");
  // The hash in the URL: a folder whose code changed is imported afresh, not from the module cache.
  const module = (await import(`${pathToFileURL(join(folder, handlerFile)).href}?code=${codeHash.slice(0, 16)}`)) as { default?: ProjectionDefinition };
  const definition = module.default;
  if (definition === undefined || typeof definition.name !== "string") throw new LedgerError("ERR_CONFIG", `${folder}/${handlerFile} must default-export defineProjection({...})`);
  if (!PROJECTION_NAME_PATTERN.test(definition.name) || !folder.endsWith(definition.name)) {
    throw new LedgerError("ERR_CONFIG", `${folder}: the projection's name (${definition.name}) must be its folder's name`);
  }
  return { definition, sql: await readFile(join(folder, "schema.sql"), "utf8"), codeHash, source: folder };
}
