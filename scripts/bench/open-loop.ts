// Open-loop load: requests are sent at a fixed arrival rate whatever the server does, and
// each latency is measured from the time its request was SCHEDULED, not sent. A closed
// loop (autocannon) sends the next request only after an answer, so when the server slows
// down it also slows the load and the queueing never shows in its latencies (coordinated
// omission). Here a server that cannot keep up shows it: latencies grow with the run.
//
// node:http with a keep-alive agent, not undici: the one is in Node already, the other is
// not a dependency of this project; at these rates the client's cost is the same order.
import { Agent, request } from "node:http";
import { percentile } from "./stats.js";

export interface OpenLoopOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Most connections the client opens (requests beyond wait for one, their clock running). */
  connections: number;
  path(i: number): string;
  body: string;
  headers?: Record<string, string>;
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  /** Successful answers per second over the run (until the last answer). */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  let done = 0;
  const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(options.body)), ...options.headers };
  const started = performance.now();
  let last = started;

  await new Promise<void>((resolve) => {
    const send = (i: number) => {
      const scheduled = started + i * interval;
      const req = request(
        { host: target.hostname, port: target.port, method: "POST", path: options.path(i), headers, agent },
        (res) => {
          res.resume();
          res.on("end", () => {
            const now = performance.now();
            last = now;
            if (res.statusCode === 201 || res.statusCode === 200) {
              ok++;
              latencies.push(now - scheduled);
            } else failed++;
            if (++done === total) resolve();
          });
        },
      );
      req.on("error", () => {
        failed++;
        if (++done === total) resolve();
      });
      req.end(options.body);
    };
    // A 1 ms tick sends everything whose time has come: timers cannot fire at 5 kHz, and
    // a late tick must not lower the rate (the late requests go out at once, late).
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate: options.rate,
    sent,
    ok,
    failed,
    throughput: ok / ((last - started) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
  };
}

export function formatOpenLoop(r: OpenLoopResult): string {
  return `   open loop ${String(r.rate).padStart(5)}/s offered: ${Math.round(r.throughput).toString().padStart(6)} ok/s   p50 ${r.p50Ms.toFixed(1).padStart(7)} ms   p99 ${r.p99Ms.toFixed(1).padStart(7)} ms   max ${r.maxMs.toFixed(0).padStart(6)} ms${r.failed > 0 ? `   ${r.failed} failed` : ""}`;
}
