import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startServer } from "../../../src/api/index.js";
import { makeApp } from "./fixtures.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("startServer", () => {
  it("listens on loopback with @hono/node-server under Node and closes", async () => {
    const { app } = makeApp();
    const server = await startServer(app, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(response.headers.get("annal-api-version")).toBe("1");
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("uses Bun.serve under Bun", async () => {
    // The installed bun binary (devDependency) runs the same TypeScript sources.
    const script = `
      import { pino } from "pino";
      import { Registry } from "prom-client";
      import { createApp, startServer } from "./src/api/index.ts";
      import { createAuthOff } from "./src/auth/index.ts";
      const never = () => Promise.reject(new Error("unused"));
      const reader = { readStream: never, readAll: never, readEvent: never, latestCheckpoint: never, publicKeys: never };
      const app = createApp({ ledger: { append: never, close: never }, reader, ready: async () => true, logger: pino({ level: "silent" }), metrics: new Registry(), access: createAuthOff() });
      const server = await startServer(app, { port: 0 });
      const response = await fetch(server.url + "/readyz");
      console.log(JSON.stringify({ url: server.url, status: response.status, bun: typeof Bun !== "undefined" }));
      await server.close();
    `;
    const { stdout } = await run(`${root}node_modules/.bin/bun`, ["--eval", script], { cwd: root, timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toMatchObject({ status: 200, bun: true, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  });
});
