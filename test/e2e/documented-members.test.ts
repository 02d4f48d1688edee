// The members docs/verification.md lists, read from the document itself, against what a
// live Annal serves: a record (section 3), a receipt (section 12), an export's header,
// records and trailer (section 13), a key (section 11.2) and a checkpoint (section 11.4).
// Exactly those members: none missing, none extra.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpSource } from "../../src/cli/event-sources.js";
import { createHttpExportSource, exportLog } from "../../src/cli/export-log.js";
import { verifyLog } from "../../src/cli/verify.js";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { randomName } from "../support/services.js";

const DOC = readFileSync(new URL("../../docs/verification.md", import.meta.url), "utf8");

function section(title: string): string {
  const start = DOC.indexOf(title);
  if (start < 0) throw new Error(`docs/verification.md has no "${title}"`);
  const next = DOC.indexOf("\n## ", start + title.length);
  return DOC.slice(start, next < 0 ? undefined : next);
}

/** The first-column names of a markdown table: | `name` | ... */
function tableMembers(text: string, header: string): string[] {
  const at = text.indexOf(header);
  const rows = text.slice(at).split("\n").slice(2);
  const names: string[] = [];
  for (const row of rows) {
    const match = /^\| `([A-Za-z]+)` \|/.exec(row);
    if (!match) break;
    names.push(match[1]!);
  }
  return names;
}

/** Top-level member names of a JSON-ish sketch such as `{"format": …, "from": N}` (quoted names only). */
function sketchMembers(sketch: string): string[] {
  let depth = 0;
  const names: string[] = [];
  for (let i = 0; i < sketch.length; i++) {
    const ch = sketch[i];
    if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (ch === '"' && depth === 1) {
      const end = sketch.indexOf('"', i + 1);
      const name = sketch.slice(i + 1, end);
      if (/^\s*:/.test(sketch.slice(end + 1))) names.push(name);
      i = end;
    }
  }
  return names;
}

const sorted = (names: Iterable<string>) => [...names].sort();

let t: TestHttpAnnal;
let dir: string;

beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "off" });
  dir = await mkdtemp(join(tmpdir(), "annal-members-"));
  for (const count of [2, 3]) {
    const response = await fetch(`${t.url}/streams/${randomName("members")}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: Array.from({ length: count }, (_, i) => ({ type: "ThingHappened", data: { i } })) }),
    });
    expect(response.status).toBe(201);
  }
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("what Annal serves has exactly the members docs/verification.md lists", () => {
  const recordMembers = tableMembers(section("## 3. The event record"), "| Field | Type | Hashed? | Meaning |");
  const keyMembers = tableMembers(section("## 11. The HTTP interface"), "| Member | Meaning |");
  const receiptSketch = section("## 12. Receipts");
  const exportSketch = section("## 13. Exports");

  it("reads the lists from the document", () => {
    expect(recordMembers).toHaveLength(15);
    expect(recordMembers).toEqual(expect.arrayContaining(["position", "hash", "signature", "data", "dataSalt"]));
    expect(keyMembers).toEqual(["keyId", "algorithm", "publicKey", "noteVerifierKey", "validFrom", "validTo", "fromPosition", "toPosition"]);
  });

  it("a record: the fifteen members of section 3 (data and dataSalt with a payload)", async () => {
    const record = (await (await fetch(`${t.url}/events/2`)).json()) as Record<string, unknown>;
    expect(sorted(Object.keys(record))).toEqual(sorted(recordMembers));
    const page = (await (await fetch(`${t.url}/events?limit=100`)).json()) as { events: Record<string, unknown>[] };
    for (const event of page.events) expect(sorted(Object.keys(event))).toEqual(sorted(recordMembers));
  });

  it("a receipt: the members of section 12, its event, inclusion proof and checkpoint", async () => {
    const receipt = (await (await fetch(`${t.url}/events/3/receipt`)).json()) as Record<string, Record<string, unknown>>;
    const sketch = receiptSketch.slice(receiptSketch.indexOf("    {\n"), receiptSketch.indexOf("\n    }\n") + 6);
    expect(sorted(Object.keys(receipt))).toEqual(sorted(sketchMembers(sketch.replace(/<[^>]*>/g, "0"))));
    expect(sorted(Object.keys(receipt.event!))).toEqual(sorted(recordMembers));
    expect(sorted(Object.keys(receipt.inclusionProof!))).toEqual(sorted(["leafIndex", "treeSize", "auditPath"]));
    expect(sorted(Object.keys(receipt.checkpoint!))).toEqual(sorted(["treeSize", "rootHash", "note"]));
    expect(receiptSketch).toContain("`inclusionProof` exactly `leafIndex`, `treeSize`,\n   `auditPath`, and `checkpoint` exactly `treeSize`, `rootHash`, `note`");
  });

  it("an export: header, records and trailer as section 13 lists them; keys and checkpoints as section 11", async () => {
    const out = join(dir, "export.ndjson");
    await exportLog(createHttpExportSource(t.url), { from: 2, out });
    const lines = (await readFile(out, "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const header = lines[0]!;
    const trailer = lines.at(-1)!;
    expect(exportSketch).toContain("The header has exactly the members `format`, `from`, `to`, `frontier`, `publicKeys`");
    expect(sorted(Object.keys(header))).toEqual(sorted(["format", "from", "to", "frontier", "publicKeys"]));
    expect(exportSketch).toContain("the trailer exactly `checkpoint` (itself exactly `treeSize`, `rootHash`, `note`) and\n  `consistencyProof`");
    expect(sorted(Object.keys(trailer))).toEqual(sorted(["checkpoint", "consistencyProof"]));
    expect(sorted(Object.keys(trailer.checkpoint as object))).toEqual(sorted(["treeSize", "rootHash", "note"]));
    for (const record of lines.slice(1, -1)) expect(sorted(Object.keys(record))).toEqual(sorted(recordMembers));
    const keys = header.publicKeys as Record<string, unknown>[];
    const served = ((await (await fetch(`${t.url}/keys`)).json()) as { keys: unknown[] }).keys;
    expect(keys).toEqual(served);
    // The key in force: not retired, so no validTo and no toPosition.
    for (const key of keys) expect(sorted(Object.keys(key))).toEqual(sorted(keyMembers.filter((m) => m !== "validTo" && m !== "toPosition")));
    const listing = (await (await fetch(`${t.url}/checkpoints`)).json()) as { checkpoints: Record<string, unknown>[] };
    for (const cp of listing.checkpoints) expect(sorted(Object.keys(cp))).toEqual(sorted(["treeSize", "rootHash", "note"]));
  });

  it("annal verify --url refuses a served record with a member section 3 does not list", async () => {
    expect(await verifyLog(createHttpSource(t.url, fetch, {}), { workers: 0 })).toMatchObject({ ok: true, events: 5, checkpoints: 2 });
    // The same server, seen through a proxy that adds an honest-looking flag to record 3.
    const proxied: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(response.url).includes("/events?")) return response;
      const body = (await response.json()) as { events: Record<string, unknown>[] };
      for (const event of body.events) if (event.position === 3) event.redacted = false;
      return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    };
    expect(await verifyLog(createHttpSource(t.url, proxied, {}), { workers: 0 })).toMatchObject({ ok: false, position: 3, reason: expect.stringContaining("unknown member redacted") });
  });
});
