// The floor under workload (c): the same HTTP stack (Hono on @hono/node-server) with a
// handler that only parses the body and answers 201. Run by index.ts in a child process,
// as the real server is; prints its URL on stdout.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.post("/streams/:streamId/events", async (c) => {
  JSON.parse(await c.req.text());
  return c.json({ streamId: c.req.param("streamId") }, 201);
});
const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
  process.stdout.write(`http://127.0.0.1:${info.port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
