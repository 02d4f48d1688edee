// The HTTP edge alone, in process: routing, API version, auth (off), body limit, strict
// JSON parse and request validation of an append, with a ledger that answers at once.
// What the schema-driven validation costs on the append path, without PostgreSQL's
// noise. BENCH_EDGE_ROOT=<checkout> measures another checkout's src/ with this script.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { Registry } from "prom-client";

const root = resolve(process.env.BENCH_EDGE_ROOT ?? new URL("../..", import.meta.url).pathname);
const requests = Number(process.env.BENCH_EDGE_REQUESTS ?? 200_000);

export async function benchEdge(): Promise<{ name: string; perSecond: number; microsPerRequest: number; cpuMicrosPerRequest: number }[]> {
  const { createApp } = (await import(pathToFileURL(`${root}/src/api/index.ts`).href)) as typeof import("../../src/api/index.js");
  const { createAuthOff } = (await import(pathToFileURL(`${root}/src/auth/index.ts`).href)) as typeof import("../../src/auth/index.js");
  const checkpoint = { treeSize: 1, rootHash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", note: "n" };
  const ledger = {
    append: (request: { streamId: string; events: unknown[] }) =>
      Promise.resolve({
        streamId: request.streamId,
        streamVersion: 1,
        events: request.events.map((_, i) => ({ position: i + 1, streamVersion: i + 1, eventId: "0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b", hash: checkpoint.rootHash, keyId: "k", signature: "AA==" })),
        checkpoint,
      }),
    close: () => Promise.resolve(),
  };
  const unused = () => Promise.reject(new Error("not used"));
  const app = createApp({
    ledger: ledger as never,
    reader: { readStream: unused, readAll: unused, readEvent: unused, latestCheckpoint: unused, publicKeys: unused },
    proofs: { inclusionProof: unused, consistencyProof: unused, checkpointAt: unused, listCheckpoints: unused },
    ready: () => Promise.resolve(true),
    logger: pino({ level: "silent" }),
    metrics: new Registry(),
    access: createAuthOff(),
  });
  const one = JSON.stringify({ events: [{ type: "OrderPlaced", data: { orderId: "o-1", amount: 4200, currency: "EUR", lines: [{ sku: "abc", qty: 2 }] } }], expectedVersion: "any" });
  const hundred = JSON.stringify({ events: Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: { orderId: `o-${j}`, amount: 4200 + j, currency: "EUR", lines: [{ sku: "abc", qty: 2 }] } })) });
  const results = [];
  for (const [name, body, count] of [
    ["edge: single-event append", one, requests],
    ["edge: 100-event append", hundred, Math.max(1, Math.floor(requests / 20))],
  ] as const) {
    const send = (i: number) => app.request(`/streams/s-${i % 1000}/events`, { method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": `k-${i}` }, body });
    for (let i = 0; i < 2000; i++) await send(i); // warm up the JIT
    const started = performance.now();
    // CPU time as well as wall time: on a shared machine the wall clock mostly measures the neighbours.
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const response = await send(i);
      if (response.status !== 201) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - started) / 1000;
    results.push({ name, perSecond: count / seconds, microsPerRequest: (seconds * 1e6) / count, cpuMicrosPerRequest: (cpu.user + cpu.system) / count });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await benchEdge()) console.log(`${r.name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(8)} req/s   ${r.microsPerRequest.toFixed(1).padStart(7)} µs/request wall  ${r.cpuMicrosPerRequest.toFixed(1).padStart(7)} µs/request CPU   (${root})`);
}
