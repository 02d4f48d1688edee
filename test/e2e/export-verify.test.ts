import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseExportSource, createHttpExportSource, exportLog } from "../../src/cli/export-log.js";
import { verifyExportFile } from "../../src/cli/verify-export.js";
import type { PublicKeyInfo } from "../../src/ledger/types.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

// Exports from a real ledger (over HTTP and from its database) verified offline, and a
// receipt verified by the CLI with nothing but the file and the key.

const run = promisify(execFile);
let t: TestHttpAnnal;
let dir: string;
let verifierKey: string;
const sizes: number[] = [];

beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
  dir = await mkdtemp(join(tmpdir(), "annal-export-"));
  for (const count of [3, 4, 2, 6]) {
    const response = await fetch(`${t.url}/streams/${randomName("exp")}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events: Array.from({ length: count }, (_, i) => ({ type: "ThingHappened", data: { i } })) }),
    });
    sizes.push(((await response.json()) as { checkpoint: { treeSize: number } }).checkpoint.treeSize);
  }
  verifierKey = ((await (await fetch(`${t.url}/keys`)).json()) as { keys: PublicKeyInfo[] }).keys[0]!.noteVerifierKey;
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("annal export and annal verify --file", () => {
  it.each([
    ["the whole log", undefined, undefined],
    ["a middle range ending off a checkpoint", 4, 8],
    ["a range ending on a checkpoint", 5, 9],
    ["one event", 15, 15],
  ])("exports %s that verifies offline, and a tampered copy that does not", async (_name, from, to) => {
    const out = join(dir, `export-${from}-${to}.ndjson`);
    const result = await exportLog(createHttpExportSource(t.url), { ...(from ? { from } : {}), ...(to ? { to } : {}), out });
    expect(result.checkpoint).toBe(sizes.includes(result.to) ? result.to : sizes.at(-1));
    const report = await verifyExportFile(out, { publicKeys: [verifierKey] });
    expect(report).toMatchObject({ ok: true, from: from ?? 1, to: to ?? sizes.at(-1) });

    const lines = (await readFile(out, "utf8")).trimEnd().split("\n");
    const tampered = [...lines];
    const record = JSON.parse(tampered[1]!);
    record.data = { i: 99 };
    tampered[1] = JSON.stringify(record);
    await writeFile(`${out}.bad`, `${tampered.join("\n")}\n`);
    expect((await verifyExportFile(`${out}.bad`, { publicKeys: [verifierKey] })).ok).toBe(false);
    const dropped = [...lines.slice(0, 1), ...lines.slice(2)];
    await writeFile(`${out}.short`, `${dropped.join("\n")}\n`);
    expect((await verifyExportFile(`${out}.short`, { publicKeys: [verifierKey] })).ok).toBe(false);
  });

  it("exports from the database too, byte for byte the same as over HTTP", async () => {
    const viaHttp = join(dir, "http.ndjson");
    const viaDb = join(dir, "db.ndjson");
    await exportLog(createHttpExportSource(t.url), { from: 2, to: 11, out: viaHttp });
    const source = createDatabaseExportSource(t.annal.adminUrl);
    try {
      await exportLog(source, { from: 2, to: 11, out: viaDb });
    } finally {
      await source.close();
    }
    expect(await readFile(viaDb, "utf8")).toBe(await readFile(viaHttp, "utf8"));
    const cli = await run(process.execPath, ["bin/annal.js", "verify", "--file", viaDb, "--public-key", verifierKey]);
    expect(cli.stdout).toMatch(/^OK: events 2\.\.11/);
  });

  it("annal verify-receipt checks a receipt file offline and fails a tampered one", async () => {
    const receipt = await (await fetch(`${t.url}/events/6/receipt`)).json();
    const file = join(dir, "receipt.json");
    await writeFile(file, JSON.stringify(receipt));
    const ok = await run(process.execPath, ["bin/annal.js", "verify-receipt", file, "--public-key", verifierKey]);
    expect(ok.stdout).toMatch(/^OK: event at position 6/);
    receipt.event.type = "SomethingElse";
    await writeFile(file, JSON.stringify(receipt));
    await expect(run(process.execPath, ["bin/annal.js", "verify-receipt", file, "--public-key", verifierKey])).rejects.toMatchObject({ code: 1 });
  });

  it("names the line and the position of a line that is not JSON, a cut file, and members section 13 does not list", async () => {
    const out = join(dir, "lines.ndjson");
    await exportLog(createHttpExportSource(t.url), { from: 3, to: 10, out });
    const text = await readFile(out, "utf8");
    const lines = text.trimEnd().split("\n");
    // A flipped byte that breaks the JSON of line 4 (position 3 + 4 - 2 = 5).
    const flipped = [...lines];
    flipped[3] = flipped[3]!.replace('{"position"', '{"position\u0001');
    flipped[3] = flipped[3].replace(/^\{/, "[");
    await writeFile(`${out}.flip`, `${flipped.join("\n")}\n`);
    expect(await verifyExportFile(`${out}.flip`, { publicKeys: [verifierKey] })).toMatchObject({ ok: false, position: 5, reason: expect.stringContaining("line 4 (position 5) is not valid JSON") });
    // Cut in the middle of the record of position 7 (line 6).
    const cut = text.slice(0, text.indexOf(lines[5]!) + 40);
    await writeFile(`${out}.cut`, cut);
    expect(await verifyExportFile(`${out}.cut`, { publicKeys: [verifierKey] })).toMatchObject({ ok: false, position: 7, reason: expect.stringContaining("line 6") });
    // An extra member in the header, and in the trailer.
    const header = { ...(JSON.parse(lines[0]!) as object), note: "x" };
    await writeFile(`${out}.hdr`, `${[JSON.stringify(header), ...lines.slice(1)].join("\n")}\n`);
    expect(await verifyExportFile(`${out}.hdr`, { publicKeys: [verifierKey] })).toMatchObject({ ok: false, reason: expect.stringContaining("note") });
    const trailer = { ...(JSON.parse(lines.at(-1)!) as object), extra: 1 };
    await writeFile(`${out}.trl`, `${[...lines.slice(0, -1), JSON.stringify(trailer)].join("\n")}\n`);
    expect(await verifyExportFile(`${out}.trl`, { publicKeys: [verifierKey] })).toMatchObject({ ok: false, reason: expect.stringContaining("extra") });
  });
});
