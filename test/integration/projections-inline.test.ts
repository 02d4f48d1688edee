import { afterAll, describe, expect, it } from "vitest";
import type { InlineWork } from "../../src/ledger/index.js";
import { createRowExpander } from "../../src/projector/commitment.js";
import { loadProjections } from "../../src/projector/loader.js";
import { verifyProjection } from "../../src/projector/verify.js";
import { startTestAnnal } from "../support/annal.js";
import { eventually } from "../support/followers.js";
import { copyProjections, startTestProjections } from "../support/projections.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("inline projections", () => {
  it("commit their rows with the events; a handler error leaves the append committed and stops only the projection", async () => {
    const copy = await copyProjections(["streams", "order_totals"]);
    cleanups.push(() => copy.remove());
    for (const name of ["streams", "order_totals"]) await copy.edit(name, "projection.ts", (ts) => ts.replace("version: 1,", 'version: 1,\n  mode: "inline",'));
    const holder: { current?: InlineWork } = {};
    const annal = await startTestAnnal({ ANNAL_AUTH: "off" }, { inline: { active: () => holder.current?.active() ?? false, apply: (tx, events) => holder.current!.apply(tx, events) } });
    cleanups.push(() => annal.close());
    // The followers poll only every 10 s here: whatever is applied at once was applied inline.
    const running = await startTestProjections(annal, { dir: copy.dir, pollIntervalMs: 10_000 });
    cleanups.push(() => running.stop());
    holder.current = running.projector.inline;
    await eventually(async () => (await running.projector.status()).map((p) => p.active?.status), (s) => s.every((x) => x === "running"));
    expect(running.projector.inline.active()).toBe(true);

    for (let i = 1; i <= 20; i++) {
      const receipt = await annal.ledger.append({ streamId: `order-${i % 4}`, events: [{ type: "OrderPlaced", data: { total: i, currency: "EUR" } }] });
      const position = receipt.events[0]!.position;
      const { rows } = await annal.pool.query<{ projection: string; position: number }>("SELECT projection, position FROM annal.projection_builds WHERE state = 'active' ORDER BY projection");
      expect(rows).toEqual([{ projection: "order_totals", position }, { projection: "streams", position }]);
      const stream = await annal.pool.query<{ version: number }>("SELECT version FROM projection_streams.streams WHERE stream_id = $1", [`order-${i % 4}`]);
      expect(stream.rows[0]?.version).toBe(receipt.streamVersion);
    }

    // A poison event for order_totals: the append still commits, streams still applies it inline,
    // and order_totals' follower meets it and stops there.
    const poison = await annal.ledger.append({ streamId: "order-bad", events: [{ type: "OrderPlaced", data: { total: "lots" } }] });
    expect(poison.events[0]!.position).toBe(21);
    const after = await annal.pool.query<{ projection: string; position: number }>("SELECT projection, position FROM annal.projection_builds WHERE state = 'active' ORDER BY projection");
    expect(after.rows).toEqual([{ projection: "order_totals", position: 20 }, { projection: "streams", position: 21 }]);
    running.projector.runningFollower("order_totals", 1)?.wake();
    const failed = await eventually(async () => (await running.projector.status("order_totals"))[0]!.active!, (a) => a.status === "failed");
    expect(failed).toMatchObject({ position: 20, error: { code: "ERR_PROJECTION_FAILED", position: 21 } });
    // While order_totals is failed, appends go on and streams keeps applying inline.
    const next = await annal.ledger.append({ streamId: "order-1", events: [{ type: "OrderCancelled", data: {} }] });
    expect((await running.projector.status("streams"))[0]!.active!.position).toBe(next.events[0]!.position);
    const expand = await createRowExpander();
    for (const projection of await loadProjections(copy.dir, ["streams"])) {
      expect(await verifyProjection(annal.pool, projection, expand)).toMatchObject({ ok: true, position: 22 });
    }
  });
});
