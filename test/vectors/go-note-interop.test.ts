// Interop with the reference signed-note implementation (golang.org/x/mod/sumdb/note),
// in both directions. Needs Go 1.24+ on PATH; the first run downloads golang.org/x/mod
// from the Go module proxy. Without Go this test FAILS (it never skips): a verifier
// format that only agrees with itself proves nothing.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  findNoteSignature,
  fromHex,
  noteKeyHash,
  parseNote,
  parseVerifierKey,
  toBase64,
  toHex,
  utf8,
  verifyEd25519,
} from "../../src/core/index.js";

const GO_DIR = fileURLToPath(new URL("../interop/go-note/", import.meta.url));
const checkpoints = JSON.parse(readFileSync(new URL("checkpoints.json", import.meta.url), "utf8")) as {
  key: { seedHex: string; publicKeyHex: string; noteName: string; verifierKey: string };
  checkpoints: { body: string; note: string }[];
};
const { key } = checkpoints;

interface GoResponse {
  verify: { ok: boolean; error?: string; text?: string; signers?: { name: string; hash: number }[] }[];
  sign: { note?: string; error?: string }[];
  generate?: { verifierKey: string; note: string };
}

function goVersion(): string {
  const probe = spawnSync("go", ["version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error("Go 1.24+ is needed on PATH for the signed-note interop test (https://go.dev/dl/); `go version` failed: " + String(probe.error ?? probe.stderr));
  }
  const match = /go(\d+)\.(\d+)/.exec(probe.stdout);
  if (!match || Number(match[1]) < 1 || (Number(match[1]) === 1 && Number(match[2]) < 24)) {
    throw new Error(`Go 1.24+ is needed for the signed-note interop test; found: ${probe.stdout.trim()}`);
  }
  return probe.stdout.trim();
}

/** The private key string Go's note.NewSigner reads: PRIVATE+KEY+name+hash+base64(0x01 || seed). */
function goSignerKey(name: string, seed: Uint8Array): string {
  const publicKey = ed25519.getPublicKey(seed);
  return `PRIVATE+KEY+${name}+${toHex(noteKeyHash(name, publicKey))}+${toBase64(new Uint8Array([1, ...seed]))}`;
}

function malleate(note: string): string {
  const line = note.slice(note.lastIndexOf("\n\u2014 ") + 1);
  const b64 = line.slice(line.lastIndexOf(" ") + 1, -1);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  // S is the last 32 bytes, little-endian; S + L is the twin lenient verifiers accept.
  let s = 0n;
  for (let i = bytes.length - 1; i >= bytes.length - 32; i--) s = (s << 8n) | BigInt(bytes[i]!);
  s += (1n << 252n) + 27742317777372353535851937790883648493n;
  for (let i = bytes.length - 32; i < bytes.length; i++) {
    bytes[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return note.replace(b64, toBase64(bytes));
}

const seed = fromHex(key.seedHex)!;
const publicKey = fromHex(key.publicKeyHex)!;
const ourNote = checkpoints.checkpoints.at(-1)!.note;
const ourBody = checkpoints.checkpoints.at(-1)!.body;
const tampered = ourNote.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`);
const unicodeText = "annal.example/ünïcode\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

describe("signed-note interop with golang.org/x/mod/sumdb/note", () => {
  let response: GoResponse | undefined;
  let setupError: unknown;
  // Every test fails with the setup error (vitest would report them as skipped if
  // beforeAll threw).
  const goRun = (): GoResponse => {
    if (!response) throw setupError instanceof Error ? setupError : new Error(String(setupError));
    return response;
  };

  beforeAll(() => {
    try {
      response = runGo();
    } catch (error) {
      setupError = error;
    }
  }, 300_000);

  it("runs Go 1.24+ (needed on PATH; https://go.dev/dl/)", () => {
    expect(goRun().verify).toHaveLength(3);
    expect(goVersion()).toMatch(/^go version go1\.\d+/);
  });

  it("Go opens Annal's checkpoint note with Annal's verifier key", () => {
    const go = goRun();
    expect(go.verify[0]).toEqual({ ok: true, text: ourBody, signers: [{ name: key.noteName, hash: parseInt(key.verifierKey.split("+")[1]!, 16) }] });
  });

  it("Go rejects a tampered note and the S + L twin of a valid signature", () => {
    const go = goRun();
    expect(go.verify[1]).toMatchObject({ ok: false });
    expect(go.verify[2]).toMatchObject({ ok: false });
    expect(parseNote(malleate(ourNote))).toBeDefined();
  });

  it("Go's signature over the same text with the same key is byte-identical to Annal's note", () => {
    expect(goRun().sign[0]).toEqual({ note: ourNote });
  });

  it("Annal verifies a Go-signed note with non-ASCII text", () => {
    const note = goRun().sign[1]!.note!;
    const parsed = parseNote(note)!;
    expect(parsed.text).toBe(unicodeText);
    const sig = findNoteSignature(parsed, key.noteName, publicKey)!;
    expect(verifyEd25519(publicKey, utf8(parsed.text), sig.signature)).toBe(true);
  });

  it("Annal parses a key Go generated and verifies Go's note with it", () => {
    const { verifierKey, note } = goRun().generate!;
    const vkey = parseVerifierKey(verifierKey)!;
    expect(vkey.name).toBe("go.example/witness");
    const parsed = parseNote(note)!;
    expect(parsed.text).toBe(ourBody);
    const sig = findNoteSignature(parsed, vkey.name, vkey.publicKey)!;
    expect(verifyEd25519(vkey.publicKey, utf8(parsed.text), sig.signature)).toBe(true);
    expect(verifyEd25519(publicKey, utf8(parsed.text), sig.signature)).toBe(false);
  });
});

function runGo(): GoResponse {
  goVersion();
  const request = {
    verify: [
      { verifierKey: key.verifierKey, note: ourNote },
      { verifierKey: key.verifierKey, note: tampered },
      { verifierKey: key.verifierKey, note: malleate(ourNote) },
    ],
    sign: [
      { signerKey: goSignerKey(key.noteName, seed), text: ourBody },
      { signerKey: goSignerKey(key.noteName, seed), text: unicodeText },
    ],
    generate: { name: "go.example/witness", text: ourBody },
  };
  const out = execFileSync("go", ["run", "."], { cwd: GO_DIR, input: JSON.stringify(request), encoding: "utf8", timeout: 280_000, stdio: ["pipe", "pipe", "pipe"] });
  return JSON.parse(out) as GoResponse;
}
