// The browser build of annal/verify verifies a sealed segment: bundled by esbuild for the
// browser (no node: imports, nothing external), then loaded on its own and given only the
// golden bundle bytes and the ledger's public key.
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

describe("annal/verify in a browser bundle", () => {
  it("verifies the golden segment bundles with only the public key, and refuses tampered bytes", async () => {
    const result = await build({ entryPoints: ["src/verify/index.ts"], bundle: true, platform: "browser", format: "esm", write: false, metafile: true, logLevel: "silent" });
    expect(Object.keys(result.metafile.inputs).filter((p) => p.startsWith("node:"))).toEqual([]);
    expect(Object.keys(result.metafile.inputs).some((p) => p.includes("nanotar"))).toBe(true);
    const file = join(await mkdtemp(join(tmpdir(), "annal-verify-browser-")), "annal-verify.mjs");
    await writeFile(file, result.outputFiles[0]!.text);
    const lib = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof import("../../../src/verify/index.js");
    const golden = JSON.parse(readFileSync("test/vectors/segments/segments.json", "utf8")) as { ledgerPublicKey: string; segments: Array<{ manifestHash: string }> };
    const key = lib.parseTrustedKey(golden.ledgerPublicKey);
    if ("error" in key) throw new Error(key.error);
    const second = new Uint8Array(readFileSync("test/vectors/segments/segment-2.tar"));
    expect(lib.verifyBundle(second, [key], { previousManifestHash: golden.segments[0]!.manifestHash })).toMatchObject({ ok: true, events: 4, manifest: { from: 4, to: 7 } });
    const tampered = second.slice();
    tampered[tampered.length - 1]! ^= 1; // the last padding byte: the bundle is no longer in its one byte form
    expect(lib.verifyBundle(tampered, [key])).toMatchObject({ ok: false, file: "bundle" });
    const events = second.slice();
    events[events.indexOf(0x7b, 5 * 512) + 40]! ^= 1; // a byte of events.jsonl
    expect(lib.verifyBundle(events, [key])).toMatchObject({ ok: false });
  });
});
