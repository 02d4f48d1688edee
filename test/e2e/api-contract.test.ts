import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { schemathesisCommand } from "../support/tools.js";

// The OpenAPI document against the live server, by schemathesis (from PyPI, installed by
// `npm run test-tools`): requests generated from /openapi.json, valid and invalid, sent
// with a writer's token and with an admin's. Every answer must be no 5xx, a status the
// document lists for the operation, with a documented content type, headers and a body
// that matches the documented schema. Bounded: MAX_EXAMPLES per operation and phase, a
// few thousand requests in all (printed); ANNAL_CONTRACT_EXAMPLES raises it.
const MAX_EXAMPLES = Number(process.env.ANNAL_CONTRACT_EXAMPLES ?? 40);
const CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance", "response_schema_conformance"];

let annal: TestHttpAnnal;
let reports: string;

beforeAll(async () => {
  reports = await mkdtemp(join(tmpdir(), "annal-contract-"));
  // Projections on, so the read-model routes answer with bodies to check too.
  annal = await startTestHttpAnnal({ auth: "oidc", projections: true });
  // Some events, so reads, proofs and receipts answer with bodies to check, not only 404s.
  const token = await annal.token("writer");
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${annal.url}/streams/contract-${i % 2}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{ type: "Seeded", data: { i } }, { type: "Seeded", data: { i, n: 2 } }] }),
    });
    expect(response.status).toBe(201);
  }
});

afterAll(async () => {
  await annal?.close();
  await rm(reports, { recursive: true, force: true });
});

describe("the OpenAPI document says what the server does (schemathesis)", () => {
  it.each(["writer", "admin"])(
    "with a %s token: no 5xx, no undocumented status, no answer off the schema",
    async (role) => {
      const st = schemathesisCommand();
      const token = await annal.token(role);
      const junit = join(reports, `${role}.xml`);
      const result = await run(st, reports, [
        "run",
        `${annal.url}/openapi.json`,
        "--checks",
        CHECKS.join(","),
        "--header",
        `Authorization: Bearer ${token}`,
        "--max-examples",
        String(MAX_EXAMPLES),
        "--seed",
        "20261202",
        // One worker: hypothesis describes strategies with ast.parse, which CPython 3.11
        // cannot run from two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--mode",
        "all",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        junit,
        "--output-sanitize",
        "true",
      ]);
      const summary = summaryOf(result.output);
      console.info(`[schemathesis ${role}] ${summary.line}`);
      // A failure names the operation, the check and a curl command to reproduce it.
      expect(result.code, result.output.slice(-20_000)).toBe(0);
      const xml = await readFile(junit, "utf8");
      expect(xml).not.toMatch(/<failure|<error/);
      expect(summary.requests).toBeGreaterThan(1500);
    },
    600_000,
  );
});

function run(command: string, cwd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the server under test runs in this process.
    // In a scratch directory: schemathesis keeps its example database in ./.schemathesis.
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** The request count from schemathesis's closing summary ("Test cases: N generated, ..."). */
function summaryOf(output: string): { line: string; requests: number } {
  const cases = /Test cases:\s*([0-9,]+) generated/.exec(output);
  const requests = cases ? Number(cases[1]!.replaceAll(",", "")) : 0;
  const line = output.split("\n").filter((l) => /Test cases:|API Operations:|passed|failed/.test(l)).map((l) => l.trim()).join("; ");
  return { line, requests };
}
