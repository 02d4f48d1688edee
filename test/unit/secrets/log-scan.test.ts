import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findSecretsInLogs } from "../../support/log-scan.js";

// The e2e log scan (test/support/global-setup.ts) must be able to fail: here a secret is
// planted in a log in each form a logger or encoder would give it, and found.

const SECRET = 'Zq8r1xV4p"Lk2/mN7+wT3';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annal-scan-"));
  await mkdir(join(dir, "nested"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the log scan", () => {
  it("finds nothing in clean logs", async () => {
    await writeFile(join(dir, "clean.log"), `${JSON.stringify({ level: 30, msg: "annal is listening", password: "****" })}\n`);
    expect(await findSecretsInLogs(dir, [{ label: "db password", value: SECRET }])).toEqual([]);
  });

  it.each([
    ["raw", `plain text ${SECRET} in a stack trace`],
    ["JSON-escaped", JSON.stringify({ msg: "connect failed", url: `postgres://u:${SECRET}@db/annal` })],
    ["URL-encoded", `GET /callback?secret=${encodeURIComponent(SECRET)}`],
    ["base64", `authorization: Basic ${Buffer.from(SECRET).toString("base64")}`],
  ])("finds a planted secret %s, in any file under the directory, naming file, line and label", async (form, line) => {
    const file = join(dir, "nested", `planted-${form}.log`);
    await writeFile(file, `first line\n${line}\n`);
    const findings = await findSecretsInLogs(dir, [{ label: "db password", value: SECRET }]);
    expect(findings).toContainEqual({ file, line: 2, label: "db password", form });
    await rm(file);
  });
});
