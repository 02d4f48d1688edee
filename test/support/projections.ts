import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createListeningWakeup } from "../../src/follower/index.js";
import { createRowExpander } from "../../src/projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../../src/projector/loader.js";
import { createProjector, type Projector } from "../../src/projector/projector.js";
import type { TestAnnal } from "./annal.js";
import { REPO_ROOT } from "./processes.js";

export interface RunningProjections {
  projector: Projector;
  stop(): Promise<void>;
}

/** A projector over the test ledger, with short poll, lease and reconcile intervals. */
export async function startTestProjections(annal: TestAnnal, options: { names?: string[]; dir?: string; batchSize?: number; pollIntervalMs?: number } = {}): Promise<RunningProjections> {
  const wakeup = createListeningWakeup(annal.connect);
  const projections = await loadProjections(options.dir ?? BUILT_IN_PROJECTIONS_DIR, options.names);
  const projector = createProjector(
    { pool: annal.pool, connect: annal.connect, wakeup, expand: await createRowExpander(), ledger: annal.ledger },
    { projections, pollIntervalMs: options.pollIntervalMs ?? 50, leaseRetryMs: 100, heartbeatMs: 200, reconcileMs: 200, ...(options.batchSize ? { batchSize: options.batchSize } : {}) },
  );
  try {
    await projector.start();
  } catch (error) {
    await wakeup.close();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    projector,
    // Idempotent: a test may stop it early and the cleanup stop it again.
    stop: () =>
      (stopped ??= (async () => {
        await projector.stop();
        await wakeup.close();
      })()),
  };
}

/**
 * A copy of shipped projection folders in a scratch folder inside the repository (so
 * their relative imports still resolve), for tests that change a handler or SQL.
 */
export async function copyProjections(names: string[]): Promise<{ dir: string; edit(name: string, file: string, change: (text: string) => string): Promise<void>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(REPO_ROOT, "projections", "_test-"));
  for (const name of names) await cp(join(BUILT_IN_PROJECTIONS_DIR.pathname, name), join(dir, name), { recursive: true });
  // One level deeper than projections/<name>/: imports of the repository's code go up one more.
  const deepen = (text: string) => text.replaceAll('from "../../', 'from "../../../');
  for (const name of names) {
    const file = join(dir, name, "projection.ts");
    await writeFile(file, deepen(await readFile(file, "utf8")));
  }
  return {
    dir,
    async edit(name, file, change) {
      const path = join(dir, name, file);
      await writeFile(path, change(await readFile(path, "utf8")));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
