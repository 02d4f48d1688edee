import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnnal, type AnnalCore } from "../../src/annal.js";
import { loadConfig } from "../../src/config.js";
import { createTestDatabase } from "../support/services.js";
import { runCli } from "../support/processes.js";
import { captureLogger } from "../support/log-capture.js";

// Two ledgers (two "instances") on one database: the optimistic batch path of each must
// lose its races to the other cleanly, with one gap-free chain as the result.
let a: AnnalCore;
let b: AnnalCore;
let url: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = () => db.drop();
  // One ledger key for both: the key in force is the one key that signs, on every instance.
  const keyFile = join(await mkdtemp(join(tmpdir(), "annal-multi-key-")), "ledger.pem");
  await writeFile(keyFile, generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  const open = async (commitMode: "sync" | "flush") =>
    openAnnal(
      loadConfig({ DATABASE_URL: db.url, ANNAL_HOME: await mkdtemp(join(tmpdir(), "annal-multi-")), ANNAL_SIGNING_KEY_FILE: keyFile, ANNAL_LOG_LEVEL: "silent", ANNAL_AUTH: "off", ANNAL_COMMIT_MODE: commitMode }),
      captureLogger("multi-instance"),
    );
  // One instance in each commit mode, so both are exercised, and together.
  a = await open("sync");
  b = await open("flush");
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await drop?.();
});

describe("two instances appending to one database", () => {
  it("interleave into one gap-free, verifiable chain with contiguous stream versions", async () => {
    const rounds = 20;
    // Rounds one after another, both instances at once within a round: each instance
    // keeps planning on what it last wrote while the other moves the head under it.
    for (let r = 0; r < rounds; r++) {
      const work: Array<Promise<unknown>> = [];
      for (const [name, ledger] of [["a", a], ["b", b]] as const) {
        // Shared streams (both instances) and own streams, single and multi-event appends.
        work.push(ledger.ledger.append({ streamId: `shared-${r % 5}`, events: [{ type: "Touched", data: { by: name, r } }] }));
        work.push(ledger.ledger.append({ streamId: `${name}-own-${r % 3}`, events: [{ type: "Own", data: { r } }, { type: "Own", data: { r, n: 2 } }] }));
      }
      await Promise.all(work);
    }

    const events = await a.reader.readAll({ fromPosition: 1, limit: 1000 });
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: rounds * 2 * 3 }, (_, i) => i + 1));
    const byStream = new Map<string, number[]>();
    for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.streamVersion]);
    for (const versions of byStream.values()) expect(versions).toEqual(versions.map((_, i) => i + 1));

    // Both took the optimistic path, and the races between them were lost and retried
    // under the lock (how many depends on timing; that the paths ran does not).
    const stats = [a.ledger.stats, b.ledger.stats];
    for (const s of stats) expect(s.optimisticBatches).toBeGreaterThan(0);
    expect(stats[0]!.conflicts + stats[1]!.conflicts).toBeGreaterThan(0);
    const { rows } = await a.pool.query<{ position: number }>("SELECT position FROM annal.durable_head");
    expect(rows[0]!.position).toBe(rounds * 2 * 3);
    const verify = await runCli(["verify", "--database-url", url, "--no-progress"]);
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
  });

  it("decides expectedVersion races across instances: exactly one of each pair wins", async () => {
    for (let i = 0; i < 10; i++) {
      const stream = `race-${i}`;
      const results = await Promise.allSettled([
        a.ledger.append({ streamId: stream, expectedVersion: "no_stream", events: [{ type: "Created", data: { by: "a" } }] }),
        b.ledger.append({ streamId: stream, expectedVersion: "no_stream", events: [{ type: "Created", data: { by: "b" } }] }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.find((r) => r.status === "rejected");
      expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: "ERR_EXPECTED_VERSION" });
    }
    const verify = await runCli(["verify", "--database-url", url, "--no-progress"]);
    expect(verify.code).toBe(0);
  });

  it("keeps an Idempotency-Key to one append when both instances receive it", async () => {
    const request = { streamId: "idem-multi", idempotencyKey: "once", events: [{ type: "Paid", data: { amount: 5 } }] };
    const [ra, rb] = await Promise.all([a.ledger.append(request), b.ledger.append(request)]);
    expect(ra).toEqual(rb);
    const stream = await a.reader.readStream("idem-multi", {});
    expect(stream).toHaveLength(1);
  });
});
