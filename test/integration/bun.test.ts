import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/services.js";
import { BUN, startServerProcess, type ServerProcess } from "../support/processes.js";

let server: ServerProcess | undefined;
let drop: (() => Promise<void>) | undefined;
afterAll(async () => {
  await server?.stop();
  await drop?.();
});

describe("the service under Bun", () => {
  it("starts, appends and reads", async () => {
    // The `bun` npm package is a devDependency; its install script fetches the binary.
    expect(existsSync(BUN), `Bun binary missing at ${BUN}: run npm ci (the bun package's install script must be allowed)`).toBe(true);
    const db = await createTestDatabase();
    drop = db.drop;
    server = await startServerProcess({ DATABASE_URL: db.url, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-bun-")) }, "bun");
    const appended = await fetch(`${server.url}/streams/bun-1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [{ type: "Greeted", data: { runtime: "bun" } }] }),
    });
    expect(appended.status).toBe(201);
    expect(appended.headers.get("annal-api-version")).toBe("1");
    const read = (await (await fetch(`${server.url}/streams/bun-1/events`)).json()) as { events: Array<{ data: unknown; position: number }> };
    expect(read.events).toHaveLength(1);
    expect(read.events[0]).toMatchObject({ position: 1, data: { runtime: "bun" } });
  });
});
