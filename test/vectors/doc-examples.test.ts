// docs/verification.md may only show values the vectors hold: every hex or base64 value
// in it (whole, split over lines, or shortened as `606d0197…9d56`) must appear in a file
// of test/vectors/, and those files are recomputed from their inputs by the tests beside
// this one (vectors.test.ts, receipt.test.ts, ed25519.test.ts, and fixture-log.json here).
// So the document cannot drift from the code. To rewrite fixture-log.json after a
// deliberate change: ANNAL_WRITE_VECTORS=1 npx vitest run test/vectors/doc-examples.test.ts
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64, toHex } from "../../src/core/index.js";
import { buildFixtureLog } from "./fixture-log.js";

const DIR = new URL("./", import.meta.url);
const DOC = readFileSync(new URL("../../docs/verification.md", import.meta.url), "utf8");

/** Every string in every vector file, with base64 values also as hex and hex as base64. */
function vectorCorpus(): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") {
      out.push(value);
      for (const word of value.split(/[\s"]+/)) {
        out.push(word);
        const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(word) ? fromBase64(word) : undefined;
        if (bytes && bytes.length >= 8) out.push(toHex(bytes));
        if (/^([0-9a-f]{2})+$/.test(word) && word.length >= 16) out.push(toBase64(Uint8Array.from(Buffer.from(word, "hex"))));
      }
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(walk);
  };
  for (const file of readdirSync(DIR, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json"))) walk(JSON.parse(readFileSync(new URL(file, DIR), "utf8")));
  return out;
}

/** The values the document shows: long hex runs, base64 runs, and shortened `head…tail` forms. */
function documentValues(): { whole: string[]; shortened: [string, string][] } {
  const shortened: [string, string][] = [];
  // Not after a dot or a letter (`witness.example/w1+…`), not a path (`/proofs/…`).
  const text = DOC.replace(/(?<![A-Za-z0-9+/.])([A-Za-z0-9+][A-Za-z0-9+/]{3,})…([A-Za-z0-9+/]*={0,2})/g, (_m, head: string, tail: string) => {
    shortened.push([head, tail]);
    return " ";
  });
  const whole = [
    ...[...text.matchAll(/(?<![A-Za-z0-9+/])[0-9a-f]{16,}(?![A-Za-z0-9+/])/g)].map((m) => m[0]).filter((w) => !/^[0-9]+$/.test(w)),
    // Base64: at least 24 characters with a digit, a multiple of 4 long; words and paths rarely are.
    ...[...text.matchAll(/(?<![A-Za-z0-9+/.])[A-Za-z0-9+/]{22,}={0,2}(?![A-Za-z0-9+/])/g)]
      .map((m) => m[0])
      .filter((w) => w.length % 4 === 0 && /[0-9]/.test(w) && !/^[0-9a-f]+$/.test(w)),
  ];
  return { whole, shortened };
}

describe("docs/verification.md shows only values the vectors hold", () => {
  it("fixture-log.json is the fixture log rebuilt from test/support/chain-fixture.ts", () => {
    const text = `${JSON.stringify(buildFixtureLog(), null, 2)}\n`;
    if (process.env.ANNAL_WRITE_VECTORS === "1") writeFileSync(new URL("fixture-log.json", DIR), text);
    expect(readFileSync(new URL("fixture-log.json", DIR), "utf8")).toBe(text);
  });

  const corpus = vectorCorpus();
  const { whole, shortened } = documentValues();

  it("finds values to check (the extraction works)", () => {
    expect(whole.length).toBeGreaterThan(40);
    expect(shortened.length).toBeGreaterThan(10);
  });

  it.each(whole.map((v) => [v]))("%s is in a vector file", (value) => {
    expect(corpus.some((s) => s.includes(value))).toBe(true);
  });

  it.each(shortened.map(([head, tail]) => [`${head}…${tail}`, head, tail]))("%s abbreviates a vector value", (_name, head, tail) => {
    expect(corpus.some((s) => s.startsWith(head) && s.endsWith(tail))).toBe(true);
  });
});
