import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";

// Readers of `orders-*` only; the writer and admin keep their usual grants.
const POLICY = {
  roles: {
    writer: [{ permissions: ["events:append", "events:read"], streams: ["*"] }],
    reader: [{ permissions: ["events:read"], streams: ["orders-*", "audit_trail"] }],
    auditor: [{ permissions: ["events:read", "audit:read"], streams: ["*"] }],
    admin: [{ permissions: ["events:append", "events:read", "audit:read", "metrics:read", "admin:*"], streams: ["*"] }],
  },
};

let t: TestHttpAnnal;
const tokens = new Map<string, string>();
const written = new Map<string, number>();
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "annal-policy-"));
  await writeFile(join(dir, "policy.json"), JSON.stringify(POLICY));
  t = await startTestHttpAnnal({ auth: "oidc", projections: true, env: { ANNAL_RBAC_POLICY_FILE: join(dir, "policy.json"), ANNAL_READ_WAIT_MS: "3000" } });
  for (const role of ["writer", "reader", "auditor", "admin"]) tokens.set(role, await t.token(role));
  // 3 order streams, 2 payment streams, a stream named like a LIKE pattern's wildcard.
  const streams = ["orders-1", "orders-2", "orders-10", "payments-1", "payments-2", "orders_x", "audit_trail"];
  for (let i = 0; i < 40; i++) {
    const streamId = streams[i % streams.length]!;
    const response = await append(streamId, { total: i });
    expect(response.status).toBe(201);
    written.set(streamId, (written.get(streamId) ?? 0) + 1);
  }
});
afterAll(() => t?.close());

const bearer = (role: string) => ({ authorization: `Bearer ${tokens.get(role)!}` });
function append(streamId: string, data: unknown, type = "OrderPlaced") {
  return fetch(`${t.url}/streams/${streamId}/events`, { method: "POST", headers: { "content-type": "application/json", ...bearer("writer") }, body: JSON.stringify({ events: [{ type, data }] }) });
}
async function streams(role: string, query = ""): Promise<{ status: number; body: { streams: Array<{ streamId: string; version: number; eventCount: number }>; next: string | null; code?: string } }> {
  const response = await fetch(`${t.url}/streams${query}`, { headers: bearer(role) });
  return { status: response.status, body: (await response.json()) as never };
}

describe("GET /streams", () => {
  it("returns exactly the streams and versions written (read-your-writes on the last position)", async () => {
    const { status, body } = await streams("writer", "?minPosition=40");
    expect(status).toBe(200);
    expect(Object.fromEntries(body.streams.map((s) => [s.streamId, s.version]))).toEqual(Object.fromEntries(written));
    expect(body.streams.every((s) => s.eventCount === s.version)).toBe(true);
    // Byte order of ids.
    expect(body.streams.map((s) => s.streamId)).toEqual([...written.keys()].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)));
  });

  it("shows a reader only the domains it may read", async () => {
    const { status, body } = await streams("reader", "?minPosition=40");
    expect(status).toBe(200);
    // `orders-*` must not match `orders_x` (LIKE's `_` is escaped) and `audit_trail` is granted by name.
    expect(body.streams.map((s) => s.streamId).sort()).toEqual(["audit_trail", "orders-1", "orders-10", "orders-2"]);
  });

  it("filters by prefix and pages with after/next", async () => {
    const first = await streams("writer", "?prefix=orders-&limit=2");
    expect(first.body.streams.map((s) => s.streamId)).toEqual(["orders-1", "orders-10"]);
    expect(first.body.next).toBe("orders-10");
    const second = await streams("writer", `?prefix=orders-&limit=2&after=${first.body.next}`);
    expect(second.body).toMatchObject({ streams: [{ streamId: "orders-2" }], next: null });
  });

  it("sees a new append at once when the receipt's position is named", async () => {
    const receipt = (await (await append("orders-fresh", { total: 1 })).json()) as { events: Array<{ position: number }> };
    const { status, body } = await streams("writer", `?prefix=orders-fresh&minPosition=${receipt.events[0]!.position}`);
    expect(status).toBe(200);
    expect(body.streams).toMatchObject([{ streamId: "orders-fresh", version: 1 }]);
  });

  it("answers 503 ERR_PROJECTION_BEHIND with Retry-After for a position the log has and the catalogue has not applied, 400 for one beyond the log", async () => {
    const act = (action: string) => fetch(`${t.url}/admin/projections/streams/${action}`, { method: "POST", headers: bearer("admin") });
    const heartbeat = async () => ((await (await fetch(`${t.url}/projections/streams`, { headers: bearer("auditor") })).json()) as { active: { heartbeatAt: string | null } | null }).active?.heartbeatAt;
    const before = await heartbeat();
    expect((await act("pause")).status).toBe(202);
    try {
      // The follower reads the pause flag with its heartbeat. A beat may have been under way
      // as the flag was set, so wait for two: after the second it applies nothing more.
      const nextBeat = async (after: string | null | undefined) => {
        for (let i = 0; i < 200; i++) {
          const beat = await heartbeat();
          if (beat !== after) return beat;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error("the streams projection did not beat within 10 s");
      };
      await nextBeat(await nextBeat(before));
      const appended = await append("orders-1", { whilePaused: true });
      expect(appended.status).toBe(201);
      written.set("orders-1", (written.get("orders-1") ?? 0) + 1);
      const { events } = (await appended.json()) as { events: Array<{ position: number }> };
      const response = await fetch(`${t.url}/streams?minPosition=${events[0]!.position}`, { headers: bearer("writer") });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(await response.json()).toMatchObject({ code: "ERR_PROJECTION_BEHIND" });
    } finally {
      expect((await act("resume")).status).toBe(202);
    }
    // No receipt names a position the log has not reached: the client's mistake, not a 5xx.
    const beyond = await fetch(`${t.url}/streams?minPosition=999999`, { headers: bearer("writer") });
    expect(beyond.status).toBe(400);
    expect(await beyond.json()).toMatchObject({ code: "ERR_INVALID_INPUT", parameter: "minPosition" });
  });

  it("refuses bad parameters and callers without events:read", async () => {
    expect((await streams("writer", "?prefix=a%20b")).status).toBe(400);
    expect((await streams("writer", "?limit=0")).status).toBe(400);
    expect((await fetch(`${t.url}/streams`)).status).toBe(401);
  });
});

describe("projection operations over HTTP", () => {
  it("reports status to auditors, refuses admin actions to them, and lets admins pause and resume", async () => {
    const list = await fetch(`${t.url}/projections`, { headers: bearer("auditor") });
    expect(list.status).toBe(200);
    const names = ((await list.json()) as { projections: Array<{ name: string }> }).projections.map((p) => p.name);
    expect(names).toEqual(["order_totals", "streams"]);
    expect((await fetch(`${t.url}/projections`, { headers: bearer("reader") })).status).toBe(403);
    expect((await fetch(`${t.url}/admin/projections/streams/pause`, { method: "POST", headers: bearer("auditor") })).status).toBe(403);

    expect((await fetch(`${t.url}/admin/projections/streams/pause`, { method: "POST", headers: bearer("admin") })).status).toBe(202);
    const paused = await waitForStatus("paused");
    expect(paused.active.status).toBe("paused");
    expect((await fetch(`${t.url}/admin/projections/streams/resume`, { method: "POST", headers: bearer("admin") })).status).toBe(202);
    expect((await waitForStatus("running")).active.status).toBe("running");
    const unknown = await fetch(`${t.url}/projections/nope`, { headers: bearer("auditor") });
    expect(unknown.status).toBe(404);
    const skip = await fetch(`${t.url}/admin/projections/streams/skip`, { method: "POST", headers: { ...bearer("admin"), "content-type": "application/json" }, body: JSON.stringify({ position: 1, reason: "x" }) });
    expect(skip.status).toBe(409);
    expect(await skip.json()).toMatchObject({ code: "ERR_CONFLICT" });
  });
});

async function waitForStatus(status: string): Promise<{ active: { status: string } }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const body = (await (await fetch(`${t.url}/projections/streams`, { headers: bearer("auditor") })).json()) as { active: { status: string } };
    if (body.active.status === status || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}
