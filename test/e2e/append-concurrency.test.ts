import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { runCli } from "../support/processes.js";

interface ReceiptBody {
  streamVersion: number;
  events: Array<{ position: number; streamVersion: number; hash: string }>;
}

let t: TestHttpAnnal;
beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
});
afterAll(async () => {
  await t?.close();
});

function append(streamId: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${t.url}/streams/${streamId}/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("concurrent appends over HTTP against real PostgreSQL", () => {
  it("given 50 concurrent appends with the same expectedVersion on one stream, exactly one wins and the rest get 409", async () => {
    await append("race-1", { events: [{ type: "Opened", data: {} }] }).then((r) => expect(r.status).toBe(201));
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => append("race-1", { expectedVersion: 1, events: [{ type: "Raced", data: { i } }, { type: "Raced", data: { i, second: true } }] })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const conflicts = await Promise.all(responses.filter((r) => r.status === 409).map((r) => r.json() as Promise<{ code: string; actualVersion: number }>));
    for (const c of conflicts) expect(c).toMatchObject({ code: "ERR_EXPECTED_VERSION", actualVersion: 3 });
    const read = (await (await fetch(`${t.url}/streams/race-1/events`)).json()) as { events: Array<{ streamVersion: number }> };
    expect(read.events.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
  });

  it("given 200 concurrent appends on distinct streams, positions are gap-free, prevHashes distinct, and annal verify passes", async () => {
    const before = (await (await fetch(`${t.url}/checkpoints/latest`)).json()) as { treeSize: number };
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => append(`distinct-${i}`, { expectedVersion: "no_stream", events: [{ type: "Created", data: { i } }] })));
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(201));
    const receipts = (await Promise.all(responses.map((r) => r.json()))) as ReceiptBody[];
    const positions = receipts.map((r) => r.events[0]!.position).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 200 }, (_, i) => before.treeSize + 1 + i));

    const all = (await (await fetch(`${t.url}/events?fromPosition=1&limit=1000`)).json()) as { events: Array<{ position: number; prevHash: string }> };
    expect(all.events.map((e) => e.position)).toEqual(Array.from({ length: all.events.length }, (_, i) => i + 1));
    expect(new Set(all.events.map((e) => e.prevHash)).size).toBe(all.events.length);

    const cli = await runCli(["verify", "--database-url", t.annal.adminUrl, "--no-progress"]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`OK: ${all.events.length} events`);
    const viaHttp = await runCli(["verify", "--url", t.url, "--no-progress"]);
    expect(viaHttp.code).toBe(0);
  });

  it("given 20 parallel requests with one Idempotency-Key, one append happens and every receipt is identical", async () => {
    const body = { events: [{ type: "Paid", data: { amount: 10 } }] };
    const responses = await Promise.all(Array.from({ length: 20 }, () => append("idem-1", body, { "idempotency-key": "pay-42" })));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const texts = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(texts).size).toBe(1);
    const stream = (await (await fetch(`${t.url}/streams/idem-1/events`)).json()) as { events: unknown[] };
    expect(stream.events).toHaveLength(1);

    // After a restart the stored record answers: same key and body → the original receipt.
    const again = await append("idem-1", body, { "idempotency-key": "pay-42" });
    expect(again.status).toBe(201);
    expect(await again.text()).toBe(texts[0]);
    const other = await append("idem-1", { events: [{ type: "Paid", data: { amount: 11 } }] }, { "idempotency-key": "pay-42" });
    expect(other.status).toBe(422);
    expect(((await other.json()) as { code: string }).code).toBe("ERR_IDEMPOTENCY_KEY_REUSED");
  });
});
