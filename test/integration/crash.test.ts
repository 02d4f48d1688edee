import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/processes.js";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("crash: kill -9 during a stream of appends", () => {
  it("keeps every acknowledged event exactly once and the chain verifies after restart", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const env = { ANNAL_AUTH: "off" as const, DATABASE_URL: db.url, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-crash-")) };
    let server: ServerProcess = await startServerProcess(env);
    cleanups.push(() => server.kill());

    const acked = new Set<string>();
    let stop = false;
    // 16 writers append until the server dies under them; only 201s count as acknowledged.
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const eventId = randomUUID();
        try {
          const response = await fetch(`${server.url}/streams/crash-${w}/events`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ events: [{ type: "Ticked", data: { w, i }, eventId }] }),
          });
          if (response.status === 201) acked.add(eventId);
          else await response.body?.cancel();
        } catch {
          return; // connection refused or reset: the server is gone
        }
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));
    while (acked.size < 300) await new Promise((r) => setTimeout(r, 20));
    await server.kill();
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(300);

    server = await startServerProcess(env);
    const seen = new Map<string, number>();
    for (let from = 1; ; ) {
      const page = (await (await fetch(`${server.url}/events?fromPosition=${from}&limit=1000`)).json()) as { events: Array<{ eventId: string; position: number }> };
      if (page.events.length === 0) break;
      for (const e of page.events) seen.set(e.eventId, (seen.get(e.eventId) ?? 0) + 1);
      from = page.events[page.events.length - 1]!.position + 1;
    }
    const missing = [...acked].filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    // The restarted server keeps appending on the same chain.
    const after = await fetch(`${server.url}/streams/crash-after/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "Restarted", data: {} }] }) });
    expect(after.status).toBe(201);
    const verify = await runCli(["verify", "--database-url", db.url, "--no-progress"]);
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
    await server.stop();
  });
});
