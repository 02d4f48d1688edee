import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { runCli } from "../support/processes.js";

let t: TestHttpAnnal;
beforeAll(async () => {
  t = await startTestHttpAnnal({ auth: "oidc" });
  const token = await t.token("writer");
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${t.url}/streams/audit-${i}/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ events: [{ type: "Audited", data: { i } }] }),
    });
    expect(response.status).toBe(201);
  }
});
afterAll(async () => {
  await t?.close();
});

describe("annal verify --url against a server with authentication on", () => {
  it("given an auditor's token in ANNAL_TOKEN, verifies the whole log", async () => {
    const result = await runCli(["verify", "--url", t.url, "--no-progress"], { ANNAL_TOKEN: await t.token("auditor") });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("OK: 3 events");
  });

  it("given no token, fails with 401 and says how to get one", async () => {
    const result = await runCli(["verify", "--url", t.url, "--no-progress"], { ANNAL_TOKEN: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/answered 401/);
    expect(result.stderr).toMatch(/ANNAL_TOKEN/);
  });

  it("given a writer's token (no audit rights), fails with 403", async () => {
    const result = await runCli(["verify", "--url", t.url, "--no-progress"], { ANNAL_TOKEN: await t.token("writer") });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/answered 403/);
  });
});
