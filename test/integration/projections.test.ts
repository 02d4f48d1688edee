import { readFileSync } from "node:fs";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PROJECTIONS_STREAM } from "../../events/index.js";
import { readFollowerStatus } from "../../src/follower/index.js";
import { createRowExpander } from "../../src/projector/commitment.js";
import { BUILT_IN_PROJECTIONS_DIR, loadProjections } from "../../src/projector/loader.js";
import { createScratchBuild } from "../../src/projector/replay.js";
import { verifyProjection } from "../../src/projector/verify.js";
import { readCommittedAfter } from "../../src/follower/index.js";
import type { AppendEventInput } from "../../src/ledger/types.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";
import { asTamperer, eventually } from "../support/followers.js";
import { copyProjections, startTestProjections, type RunningProjections } from "../support/projections.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function ledger(): Promise<TestAnnal> {
  const annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  cleanups.push(() => annal.close());
  return annal;
}

async function projections(annal: TestAnnal, options: Parameters<typeof startTestProjections>[1] = {}): Promise<RunningProjections> {
  const running = await startTestProjections(annal, options);
  cleanups.push(() => running.stop());
  return running;
}

async function placeOrders(annal: TestAnnal, count: number, streams = 10): Promise<void> {
  for (let i = 0; i < count; i++) {
    const streamId = `order-${i % streams}`;
    const event: AppendEventInput = i % 7 === 6 ? { type: "OrderCancelled", data: { reason: "changed mind" } } : { type: "OrderPlaced", data: { total: i, currency: i % 2 ? "EUR" : "USD" } };
    await annal.ledger.append({ streamId, events: [event] });
  }
}

async function head(annal: TestAnnal): Promise<number> {
  return (await annal.pool.query<{ position: number }>("SELECT position FROM annal.durable_head")).rows[0]!.position;
}

async function verifyAll(annal: TestAnnal, names = ["streams", "order_totals"]): Promise<void> {
  const expand = await createRowExpander();
  for (const projection of await loadProjections(BUILT_IN_PROJECTIONS_DIR, names)) {
    const verdict = await verifyProjection(annal.pool, projection, expand);
    expect(verdict).toMatchObject({ ok: true, projection: projection.definition.name });
  }
}

describe("projections", () => {
  it("follow the log into read models whose rows and commitment equal a fresh replay", async () => {
    const annal = await ledger();
    await placeOrders(annal, 120);
    const { projector } = await projections(annal, { batchSize: 17 });
    await projector.waitFor("streams", 120, 30_000);
    await projector.waitFor("order_totals", 120, 30_000);
    await verifyAll(annal);
    const { rows } = await annal.pool.query<{ stream_id: string; version: number; event_count: number }>("SELECT stream_id, version, event_count FROM projection_streams.streams ORDER BY stream_id");
    const expected = (await annal.pool.query<{ stream_id: string; version: number }>("SELECT stream_id, version FROM annal.streams ORDER BY stream_id COLLATE \"C\"")).rows;
    expect(rows.map((r) => [r.stream_id, r.version, r.event_count])).toEqual(expected.map((r) => [r.stream_id, r.version, r.version]));
    const [status] = await projector.status("streams");
    expect(status!.active).toMatchObject({ position: 120, lagEvents: 0, status: "running", log: { treeSize: 120 } });
    expect(status!.active!.log.rootHash).toBe(Buffer.from((await annal.proofs.rootAt(120))).toString("base64"));
  });

  it("stop at a deleted middle event with an integrity error naming its position, never passing it", async () => {
    const annal = await ledger();
    await placeOrders(annal, 30);
    await asTamperer(annal.adminUrl, async (db) => {
      await db.query("DELETE FROM annal.payloads WHERE position = 12");
      await db.query("DELETE FROM annal.events WHERE position = 12");
    });
    const { projector } = await projections(annal, { names: ["streams"], batchSize: 5 });
    const status = await eventually(async () => (await projector.status("streams"))[0]!.active!, (s) => s.status === "failed");
    expect(status).toMatchObject({ status: "failed", position: 10, error: { code: "ERR_LOG_GAP", position: 12 } });
    await new Promise((r) => setTimeout(r, 500));
    expect((await projector.status("streams"))[0]!.active!.position).toBe(10);
  });

  it("a poison event stops that projection only; the skip is recorded in the log, then it goes on", async () => {
    const annal = await ledger();
    await placeOrders(annal, 10);
    // Position 11 breaks OrderPlaced's schema (total must be a number): order_totals refuses it, streams does not care.
    await annal.ledger.append({ streamId: "order-bad", events: [{ type: "OrderPlaced", data: { total: "a lot" } }] });
    await placeOrders(annal, 9);
    const { projector } = await projections(annal);
    await projector.waitFor("streams", 20, 30_000);
    const failed = await eventually(async () => (await projector.status("order_totals"))[0]!.active!, (s) => s.status === "failed");
    expect(failed).toMatchObject({ position: 10, error: { code: "ERR_PROJECTION_FAILED", position: 11 } });
    expect((await projector.status("streams"))[0]!.active).toMatchObject({ status: "running", position: 20 });

    const { ledgerPosition } = await projector.skip("order_totals", { position: 11, reason: "total was not a number (ticket 42)", actor: "test-operator" });
    expect(ledgerPosition).toBe(21);
    const [skipEvent] = await readCommittedAfter(annal.pool, 20, 1);
    expect(skipEvent).toMatchObject({ streamId: PROJECTIONS_STREAM, type: "ProjectionEventSkipped", data: { projection: "order_totals", position: 11, actor: "test-operator", reason: "total was not a number (ticket 42)" } });
    await projector.waitFor("order_totals", 21, 30_000);
    const resumed = (await projector.status("order_totals"))[0]!.active!;
    expect(resumed).toMatchObject({ status: "running", error: null });
    const { rows } = await annal.pool.query("SELECT stream_id FROM projection_order_totals.orders WHERE stream_id = 'order-bad'");
    expect(rows).toEqual([]);
    await verifyAll(annal, ["order_totals"]);
  });

  it("rebuild while 16 writers append: cut-over to a build equal to a fresh replay, no event lost or applied twice", async () => {
    const annal = await ledger();
    const { projector } = await projections(annal, { names: ["streams"], batchSize: 200 });
    let writing = true;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; writing; i++) await annal.ledger.append({ streamId: `w${w}-s${i % 5}`, events: [{ type: "Ticked", data: { w, i } }] });
    });
    await eventually(() => head(annal), (n) => n >= 1500);
    const build = await projector.rebuild("streams", "test-operator");
    expect(build).toMatchObject({ build: 2, state: "building" });
    const cut = await eventually(async () => (await projector.status("streams"))[0]!.active!.build, (b) => b === 2, 60_000);
    expect(cut).toBe(2);
    // Appends go on after the cut-over too: the new build must follow them.
    const atCut = await head(annal);
    const after = await eventually(() => head(annal), (n) => n >= atCut + 300);
    expect(after).toBeGreaterThanOrEqual(atCut + 300);
    writing = false;
    await Promise.all(writers);
    const systemTypes = async () => (await readCommittedAfter(annal.pool, 0, 1_000_000)).filter((e) => e.streamId === PROJECTIONS_STREAM).map((e) => e.type);
    // The cut-over event is appended just after the cut-over commits.
    await eventually(systemTypes, (types) => types.includes("ProjectionCutOver"));
    const end = await head(annal);
    await projector.waitFor("streams", end, 30_000);
    await verifyAll(annal, ["streams"]);
    const { rows } = await annal.pool.query<{ events: string; bad: string }>(
      "SELECT sum(event_count)::text AS events, count(*) FILTER (WHERE event_count <> version)::text AS bad FROM projection_streams.streams",
    );
    expect(rows[0]).toEqual({ events: String(end), bad: "0" });
    expect(await systemTypes()).toEqual(["ProjectionRebuildStarted", "ProjectionCutOver"]);
    // The old build stays, retired, for rollback.
    const builds = await annal.pool.query<{ build: number; state: string }>("SELECT build, state FROM annal.projection_builds WHERE projection = 'streams' ORDER BY build");
    expect(builds.rows).toEqual([{ build: 1, state: "retired" }, { build: 2, state: "active" }]);
  });

  it("refuses writes to a read model from anyone but its projector, and verify catches a row changed with triggers off", async () => {
    const annal = await ledger();
    await placeOrders(annal, 40);
    const { projector } = await projections(annal);
    await projector.waitFor("order_totals", 40, 30_000);
    await expect(annal.pool.query("UPDATE projection_order_totals__b1.totals SET amount = 0")).rejects.toThrow(/only its projector writes it/);
    await asTamperer(annal.adminUrl, (db) => db.query("UPDATE projection_order_totals__b1.orders SET total = total + 1 WHERE stream_id = 'order-3'").then(() => undefined));
    const [projection] = await loadProjections(BUILT_IN_PROJECTIONS_DIR, ["order_totals"]);
    const verdict = await verifyProjection(annal.pool, projection!, await createRowExpander());
    expect(verdict).toMatchObject({ ok: false, table: "orders", row: { stream_id: "order-3" } });
  });

  it("applying every event twice leaves the read model unchanged (same rows, same commitment)", async () => {
    const annal = await ledger();
    await placeOrders(annal, 60);
    const events = await readCommittedAfter(annal.pool, 0, 1000);
    const expand = await createRowExpander();
    for (const projection of await loadProjections(BUILT_IN_PROJECTIONS_DIR)) {
      const once = await createScratchBuild(annal.pool, projection, expand);
      const twice = await createScratchBuild(annal.pool, projection, expand);
      cleanups.push(() => once.drop(), () => twice.drop());
      for (let i = 0; i < events.length; i += 13) await once.apply(events.slice(i, i + 13));
      for (let i = 0; i < events.length; i += 13) {
        await twice.apply(events.slice(i, i + 13));
        await twice.apply(events.slice(i, i + 13));
      }
      expect(Buffer.from(twice.commitment().bytes()).equals(Buffer.from(once.commitment().bytes()))).toBe(true);
      // And the commitment is really of the rows: the empty model's differs.
      const empty = await createScratchBuild(annal.pool, projection, expand);
      cleanups.push(() => empty.drop());
      expect(Buffer.from(empty.commitment().bytes()).equals(Buffer.from(once.commitment().bytes()))).toBe(false);
    }
  });

  it("refuses a changed handler or SQL under the same version, and builds a new version beside the old", async () => {
    const annal = await ledger();
    await placeOrders(annal, 25);
    const copy = await copyProjections(["order_totals"]);
    cleanups.push(() => copy.remove());
    const first = await projections(annal, { dir: copy.dir });
    await first.projector.waitFor("order_totals", 25, 30_000);
    await first.stop();
    await copy.edit("order_totals", "schema.sql", (sql) => `${sql}\n-- an index for the dashboard\nCREATE INDEX orders_by_customer ON orders (customer_id);\n`);
    await expect(startTestProjections(annal, { dir: copy.dir })).rejects.toMatchObject({ code: "ERR_PROJECTION_CHANGED" });
    await copy.edit("order_totals", "projection.ts", (ts) => ts.replace("version: 1,", "version: 2,"));
    const second = await projections(annal, { dir: copy.dir });
    // 25 orders, the ProjectionRebuildStarted event (26) and the ProjectionCutOver event (27).
    const active = await eventually(async () => (await second.projector.status("order_totals"))[0]!.active!, (a) => a.build === 2 && a.position === 27);
    expect(active).toMatchObject({ version: 2, build: 2, position: 27 });
  });

  it("two instances: each build runs in exactly one of them", async () => {
    const annal = await ledger();
    await placeOrders(annal, 20);
    const a = await projections(annal);
    const b = await projections(annal);
    await a.projector.waitFor("streams", 20, 30_000);
    await a.projector.waitFor("order_totals", 20, 30_000);
    for (const name of ["streams", "order_totals"]) {
      const states = [a.projector.runningFollower(name, 1)?.state, b.projector.runningFollower(name, 1)?.state].sort();
      expect(states).toEqual(["running", "standby"]);
    }
    const owners = (await readFollowerStatus(annal.pool)).map((s) => s.epoch);
    expect(owners.every((epoch) => epoch === 1)).toBe(true);
    // The owner goes; the other takes over within a lease retry and carries on from the cursor.
    await a.stop();
    await placeOrders(annal, 10);
    await b.projector.waitFor("streams", 30, 30_000);
    expect(b.projector.runningFollower("streams", 1)?.state).toBe("running");
    await verifyAll(annal);
  });
});

describe("the commitment", () => {
  it("is order-independent and cancels: the same rows reached two ways give one commitment", async () => {
    const annal = await ledger();
    const admin = new pg.Client({ connectionString: annal.adminUrl });
    await admin.connect();
    cleanups.push(() => admin.end());
    await placeOrders(annal, 30, 3);
    const expand = await createRowExpander();
    const [streams] = await loadProjections(BUILT_IN_PROJECTIONS_DIR, ["streams"]);
    const events = await readCommittedAfter(annal.pool, 0, 100);
    const inOne = await createScratchBuild(annal.pool, streams!, expand);
    const oneByOne = await createScratchBuild(annal.pool, streams!, expand);
    cleanups.push(() => inOne.drop(), () => oneByOne.drop());
    await inOne.apply(events);
    for (const event of events) await oneByOne.apply([event]);
    expect(Buffer.from(inOne.commitment().bytes()).equals(Buffer.from(oneByOne.commitment().bytes()))).toBe(true);
  });
});

describe("the row text of the commitment", () => {
  it("is PostgreSQL's jsonb rendering, exactly as the vectors give it", async () => {
    const annal = await ledger();
    const vectors = JSON.parse(readFileSync(new URL("../vectors/projection-commitment.json", import.meta.url), "utf8")) as { steps: Array<{ row: string; digest: string }> };
    const tx = await annal.pool.connect();
    try {
      await tx.query("BEGIN");
      await tx.query(
        "CREATE TEMP TABLE streams (stream_id text COLLATE \"C\" PRIMARY KEY, version bigint, event_count bigint, first_position bigint, last_position bigint, first_recorded_at text, last_recorded_at text) ON COMMIT DROP",
      );
      await tx.query("INSERT INTO streams VALUES ('orders-1', 2, 2, 1, 3, '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:03.000Z')");
      const { rows } = await tx.query<{ text: string; digest: Buffer }>(
        "SELECT jsonb_build_array('streams', to_jsonb(t))::text AS text, sha256(convert_to(jsonb_build_array('streams', to_jsonb(t))::text, 'UTF8')) AS digest FROM streams t",
      );
      expect(rows[0]!.text).toBe(vectors.steps[0]!.row);
      expect(rows[0]!.digest.toString("hex")).toBe(vectors.steps[0]!.digest);
    } finally {
      await tx.query("ROLLBACK");
      tx.release();
    }
  });
});
