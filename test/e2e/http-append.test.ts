import { ed25519 } from "@noble/curves/ed25519.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeEventHash, fromBase64, headerOf, toBase64, type EventRecord } from "../../src/core/index.js";
import type { CheckpointView, PublicKeyInfo, Receipt } from "../../src/ledger/types.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// The HTTP edge over a real ledger on real PostgreSQL (started by the suite's global setup;
// `npm run services -- up postgres` or DATABASE_URL to reuse one).

let t: TestHttpAnnal;
beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
});
afterAll(async () => {
  await t?.close();
});

function append(streamId: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.url}/streams/${streamId}/events`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

async function getJson<T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; response: Response }> {
  const response = await fetch(`${t.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as T, response };
}

describe("HTTP append and reads against a real ledger", () => {
  it("appends, then serves the same events by stream, from the global log and by position", async () => {
    const streamId = randomName("orders");
    const response = await append(streamId, {
      expectedVersion: "no_stream",
      events: [
        { type: "OrderPlaced", data: { total: 12.5, lines: [1, 2] }, metadata: { actor: "e2e" } },
        { type: "OrderPaid", data: null },
      ],
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("annal-api-version")).toBe("1");
    const receipt = (await response.json()) as Receipt;
    expect(Object.keys(receipt).sort()).toEqual(["checkpoint", "events", "streamId", "streamVersion"]);
    expect(receipt).toMatchObject({ streamId, streamVersion: 2 });
    const [first, second] = receipt.events;
    expect(response.headers.get("location")).toBe(`/events/${first!.position}`);
    expect(second!.position).toBe(first!.position + 1);
    expect(receipt.checkpoint.treeSize).toBeGreaterThanOrEqual(second!.position);

    const stream = await getJson<{ streamId: string; events: EventRecord[] }>(`/streams/${streamId}/events`);
    expect(stream.status).toBe(200);
    expect(stream.body.events.map((e) => [e.type, e.streamVersion, e.hash])).toEqual([
      ["OrderPlaced", 1, first!.hash],
      ["OrderPaid", 2, second!.hash],
    ]);
    expect(stream.body.events[0]).toMatchObject({ data: { total: 12.5, lines: [1, 2] }, metadata: { actor: "e2e" } });

    const fromSecond = await getJson<{ events: EventRecord[] }>(`/streams/${streamId}/events?fromVersion=2&limit=1`);
    expect(fromSecond.body.events.map((e) => e.streamVersion)).toEqual([2]);

    const all = await getJson<{ events: EventRecord[]; nextPosition: number }>(`/events?fromPosition=${first!.position}&limit=2`);
    expect(all.body.events.map((e) => e.position)).toEqual([first!.position, second!.position]);
    expect(all.body.nextPosition).toBe(second!.position + 1);

    const one = await getJson<EventRecord>(`/events/${second!.position}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ streamId, eventId: second!.eventId, hash: second!.hash, signature: second!.signature, keyId: second!.keyId });
    // The served record is enough to recompute its hash and check its signature.
    expect(toBase64(computeEventHash(headerOf(one.body)))).toBe(one.body.hash);
    const keys = await getJson<{ keys: PublicKeyInfo[] }>("/keys");
    const key = keys.body.keys.find((k) => k.keyId === one.body.keyId);
    expect(key).toBeDefined();
    expect(ed25519.verify(fromBase64(one.body.signature)!, fromBase64(one.body.hash)!, fromBase64(key!.publicKey)!)).toBe(true);
  });

  it("answers 404 for an unknown stream and a position past the end", async () => {
    expect((await getJson<{ code: string }>(`/streams/${randomName("none")}/events`)).body.code).toBe("ERR_NOT_FOUND");
    const missing = await getJson<{ code: string }>(`/events/${Number.MAX_SAFE_INTEGER}`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("ERR_NOT_FOUND");
  });

  it("serves the latest checkpoint as JSON and as the signed note", async () => {
    await append(randomName("cp"), { events: [{ type: "Noted", data: 1 }] });
    const json = await getJson<CheckpointView>("/checkpoints/latest");
    expect(json.status).toBe(200);
    expect(json.body.treeSize).toBeGreaterThan(0);
    const text = await fetch(`${t.url}/checkpoints/latest`, { headers: { Accept: "text/plain" } });
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/);
    const note = await text.text();
    expect(note).toBe(json.body.note);
    expect(note).toContain(`\n${json.body.treeSize}\n${json.body.rootHash}\n`);
  });

  it("lists the signing key", async () => {
    const keys = await getJson<{ keys: PublicKeyInfo[] }>("/keys");
    expect(keys.status).toBe(200);
    expect(keys.body.keys.length).toBeGreaterThan(0);
    for (const key of keys.body.keys) expect(key).toMatchObject({ algorithm: "Ed25519", keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it("answers 409 with actualVersion when the expected version does not match", async () => {
    const streamId = randomName("conflict");
    expect((await append(streamId, { events: [{ type: "Opened", data: {} }, { type: "Touched", data: {} }] })).status).toBe(201);
    const conflict = await append(streamId, { expectedVersion: 1, events: [{ type: "Touched", data: {} }] });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get("content-type")).toBe("application/problem+json");
    expect(await conflict.json()).toMatchObject({ code: "ERR_EXPECTED_VERSION", status: 409, actualVersion: 2 });
    const notNew = await append(streamId, { expectedVersion: "no_stream", events: [{ type: "Opened", data: {} }] });
    expect(notNew.status).toBe(409);
  });

  it("replays an idempotent append with the identical receipt and refuses the key for another request", async () => {
    const streamId = randomName("idem");
    const key = randomName("key");
    const body = { events: [{ type: "PaymentCaptured", data: { amount: 5 } }] };
    const first = await append(streamId, body, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    const original = (await first.json()) as Receipt;
    const replay = await append(streamId, body, { "Idempotency-Key": key });
    expect(replay.status).toBe(201);
    expect(await replay.json()).toEqual(original);
    const stream = await getJson<{ events: EventRecord[] }>(`/streams/${streamId}/events`);
    expect(stream.body.events).toHaveLength(1);

    const reused = await append(streamId, { events: [{ type: "PaymentCaptured", data: { amount: 6 } }] }, { "Idempotency-Key": key });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ code: "ERR_IDEMPOTENCY_KEY_REUSED" });
  });

  it("counts the requests it answered by route pattern", async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/annal_http_requests_total\{method="POST",route="\/streams\/:streamId\/events",status="201"\} \d+/);
  });

  // Fails today, on purpose: readiness runs isMigrated() on the application-role pool, and
  // annal_app has no SELECT on annal.schema_migrations ("permission denied"), so a fully
  // migrated ledger reports not ready. Fix is a GRANT in src/store (not the HTTP edge).
  it("is ready once migrated and signing", async () => {
    const response = await fetch(`${t.url}/readyz`);
    expect(response.status).toBe(200);
  });
});
