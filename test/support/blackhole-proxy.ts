import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../../src/store/postgres/embedded.js";

export interface BlackholeProxy {
  port: number;
  /**
   * Stops moving bytes: `both` directions (a network partition: connections stay open,
   * new ones are accepted and left silent), or only the `answers` coming back from the
   * server (requests arrive and take effect; their answers are lost on the way).
   */
  hold(direction: "both" | "answers"): void;
  /** Forwards again, first what was held back (as TCP retransmits after a partition heals). */
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy on loopback to `127.0.0.1:targetPort`, for outage tests. */
export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  const sockets = new Set<Socket>();
  const releases = new Set<() => void>();
  let holdRequests = false;
  let holdAnswers = false;
  // Bytes are moved by hand, not with pipe(): pipe() resumes a paused source on 'drain'.
  const forward = (from: Socket, to: Socket, held: () => boolean): void => {
    const buffered: Buffer[] = [];
    from.on("data", (chunk: Buffer) => (held() ? buffered.push(chunk) : to.write(chunk)));
    const release = () => {
      for (const chunk of buffered.splice(0)) to.write(chunk);
    };
    releases.add(release);
    from.on("close", () => releases.delete(release));
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    forward(client, upstream, () => holdRequests);
    forward(upstream, client, () => holdAnswers);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    hold(direction) {
      holdAnswers = true;
      holdRequests = direction === "both";
    },
    restore() {
      holdAnswers = false;
      holdRequests = false;
      for (const release of releases) release();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
