// The golden sealed-segment bundles (test/vectors/segments/): the byte-exact spec of the
// annal-segment/v1 format of docs/verification.md. Rebuilding them from the fixed inputs
// must give the same bytes; a diff is a format change and must be deliberate
// (regenerate with UPDATE_VECTORS=1 npx vitest run test/vectors/segment.test.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseTrustedKey, verifyBundle } from "../../src/verify/index.js";
import { decodeBundle, formatManifestText, parseManifestText } from "../../src/verify/segment-format.js";
import { buildSegmentFixture } from "../support/segment-fixture.js";

const dir = new URL("./segments/", import.meta.url);
const fixture = buildSegmentFixture();
const names = ["segment-1.tar", "segment-2.tar"];

if (process.env.UPDATE_VECTORS === "1") {
  fixture.segments.forEach((s, i) => writeFileSync(new URL(names[i]!, dir), s.bytes));
  writeFileSync(
    new URL("segments.json", dir),
    `${JSON.stringify(
      {
        description: "Annal sealed segment bundles (annal-segment/v1): two segments of a 7-event log, event 5 redacted, checkpoints cosigned by one witness. See docs/verification.md.",
        ledgerVerifierKey: fixture.key.verifierKey,
        ledgerPublicKey: Buffer.from(fixture.key.publicKey).toString("base64"),
        witnessVerifierKey: fixture.witnessKey,
        segments: fixture.segments.map((s, i) => ({
          file: names[i],
          sha256: s.sha256,
          manifestHash: s.manifestHash,
          manifestText: formatManifestText(s.manifest),
          // The signed note as stored in the bundle (the document quotes its signature line).
          manifestNote: manifestNoteOf(s.bytes),
        })),
      },
      null,
      2,
    )}\n`,
  );
}

function manifestNoteOf(bytes: Uint8Array): string {
  const parsed = decodeBundle(bytes);
  if (!parsed.ok) throw new Error(parsed.reason);
  return new TextDecoder().decode(parsed.files["manifest.note"]);
}

const golden = JSON.parse(readFileSync(new URL("segments.json", dir), "utf8")) as {
  ledgerVerifierKey: string;
  ledgerPublicKey: string;
  witnessVerifierKey: string;
  segments: Array<{ file: string; sha256: string; manifestHash: string; manifestText: string }>;
};

describe("sealed segment vectors", () => {
  it.each([0, 1])("rebuilding segment %i gives the golden bytes", (i) => {
    const bytes = readFileSync(new URL(names[i]!, dir));
    expect(Buffer.from(fixture.segments[i]!.bytes).equals(bytes)).toBe(true);
    expect(createHash("sha256").update(bytes).digest("base64")).toBe(golden.segments[i]!.sha256);
    expect(fixture.segments[i]!.manifestHash).toBe(golden.segments[i]!.manifestHash);
    expect(formatManifestText(fixture.segments[i]!.manifest)).toBe(golden.segments[i]!.manifestText);
  });

  it("is a plain ustar archive any tar lists, in the specified file order", () => {
    const listing = execFileSync("tar", ["-tvf", new URL(names[1]!, dir).pathname], { encoding: "utf8" });
    expect(listing.trim().split("\n").map((l) => l.split(/\s+/).pop())).toEqual(["manifest.note", "checkpoint.note", "frontier.json", "keys.json", "events.jsonl"]);
  });

  it("verifies with the ledger's verifier key alone, and with the raw key, chained to the previous manifest", () => {
    for (const text of [golden.ledgerVerifierKey, golden.ledgerPublicKey]) {
      const key = parseTrustedKey(text);
      if ("error" in key) throw new Error(key.error);
      const first = verifyBundle(readFileSync(new URL(names[0]!, dir)), [key], { witnesses: [golden.witnessVerifierKey] });
      expect(first).toMatchObject({ ok: true, events: 3, cosigners: ["witness.annal.example/w1"] });
      const second = verifyBundle(readFileSync(new URL(names[1]!, dir)), [key], { previousManifestHash: golden.segments[0]!.manifestHash });
      expect(second).toMatchObject({ ok: true, events: 4, manifest: { segment: 2, from: 4, to: 7 } });
    }
  });

  it("fails under another key, or chained to another previous manifest", () => {
    const other = parseTrustedKey(Buffer.alloc(32, 7).toString("base64"));
    if ("error" in other) throw new Error(other.error);
    expect(verifyBundle(fixture.segments[0]!.bytes, [other])).toMatchObject({ ok: false, file: "manifest.note" });
    const key = parseTrustedKey(golden.ledgerVerifierKey) as Exclude<ReturnType<typeof parseTrustedKey>, { error: string }>;
    expect(verifyBundle(fixture.segments[1]!.bytes, [key], { previousManifestHash: golden.segments[1]!.manifestHash })).toMatchObject({ ok: false, file: "manifest.note", reason: expect.stringMatching(/previous/) });
  });

  it("names the file when one byte of any file is changed", () => {
    const key = parseTrustedKey(golden.ledgerVerifierKey) as Exclude<ReturnType<typeof parseTrustedKey>, { error: string }>;
    const bytes = fixture.segments[1]!.bytes;
    const files = decodeBundle(bytes);
    if (!files.ok) throw new Error(files.reason);
    // Each file's data starts 512 bytes after its header; flip a byte in the middle of each.
    let offset = 0;
    for (const name of ["manifest.note", "checkpoint.note", "frontier.json", "keys.json", "events.jsonl"] as const) {
      const size = files.files[name].length;
      const copy = bytes.slice();
      copy[offset + 512 + Math.floor(size / 2)]! ^= 0x01;
      const verdict = verifyBundle(copy, [key]);
      expect(verdict, name).toMatchObject({ ok: false, file: name });
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    const header = bytes.slice();
    header[100]! ^= 0x01; // the first header's mode field
    expect(verifyBundle(header, [key])).toMatchObject({ ok: false, file: "bundle" });
    expect(verifyBundle(bytes.slice(0, bytes.length - 512), [key])).toMatchObject({ ok: false, file: "bundle" });
  });

  it("refuses a manifest text that is not in canonical form", () => {
    const text = golden.segments[1]!.manifestText;
    expect(parseManifestText(text).ok).toBe(true);
    expect(parseManifestText(text.replace("range 4 7", "range 04 7")).ok).toBe(false);
    expect(parseManifestText(text.replace("segment 2\n", "segment 2 \n")).ok).toBe(false);
    expect(parseManifestText(`${text}extra line\n`).ok).toBe(false);
  });
});
