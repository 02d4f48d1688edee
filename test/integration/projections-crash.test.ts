import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRowExpander } from "../../src/projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../../src/projector/loader.js";
import { verifyProjection } from "../../src/projector/verify.js";
import type { AppendEventInput } from "../../src/ledger/types.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { eventually } from "../support/followers.js";
import { REPO_ROOT } from "../support/processes.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** `annal projections run` in its own process, as an operator would run it beside the server. */
async function runProjections(annal: TestAnnal): Promise<{ child: ChildProcess; output: () => string; exited: Promise<void> }> {
  const child = spawn(process.execPath, [`${REPO_ROOT}bin/annal.js`, "projections", "run"], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: annal.adminUrl, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-proj-")), ANNAL_PROJECTION_BATCH: "25", ANNAL_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => output, exited };
}

async function positions(annal: TestAnnal): Promise<Record<string, number>> {
  const { rows } = await annal.pool.query<{ projection: string; position: number }>("SELECT projection, position FROM annal.projection_builds WHERE state = 'active'");
  return Object.fromEntries(rows.map((r) => [r.projection, r.position]));
}

describe("projections after kill -9", () => {
  it("resume where they committed: the read models equal a from-scratch rebuild (same rows, same commitment)", async () => {
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
    cleanups.push(() => annal.close());
    for (let i = 0; i < 300; i++) {
      const events = Array.from({ length: 10 }, (_, j): AppendEventInput => (j === 9 && i % 3 === 0 ? { type: "OrderCancelled", data: {} } : { type: "OrderPlaced", data: { total: i * 10 + j, currency: "EUR" } }));
      await annal.ledger.append({ streamId: `order-${i % 50}`, events });
    }
    const first = await runProjections(annal);
    // Killed while it is part-way through the log, batches of 25 in flight.
    const reached = await eventually(() => positions(annal), (p) => (p["streams"] ?? 0) >= 800, 60_000);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(reached["streams"]).toBeGreaterThanOrEqual(800);
    const atKill = await positions(annal);
    expect(Math.min(atKill["streams"]!, atKill["order_totals"]!)).toBeLessThan(3000);

    const second = await runProjections(annal);
    const done = await eventually(() => positions(annal), (p) => p["streams"] === 3000 && p["order_totals"] === 3000, 60_000);
    expect(done, second.output()).toEqual({ streams: 3000, order_totals: 3000 });
    const expand = await createRowExpander();
    for (const projection of await loadProjections(BUILT_IN_PROJECTIONS_DIR)) {
      expect(await verifyProjection(annal.pool, projection, expand)).toMatchObject({ ok: true, position: 3000 });
    }
    second.child.kill("SIGTERM");
    await second.exited;
  });
});
