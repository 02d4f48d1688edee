import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHttpAnnal, type TestHttpAnnal } from "../support/annal.js";
import { chromiumCommand } from "../support/tools.js";

// The API reference as a person sees it: /docs in headless Debian chromium (installed by
// `npm run test-tools`; missing, this fails with the remedy, it does not skip). The page
// must render the operations from Annal's own copy of Swagger UI, load nothing from
// elsewhere, break no CSP rule, and let a developer authorize with the development
// issuer's client credentials and append an event with "Try it out".
let annal: TestHttpAnnal;
let browser: Browser;
/** Scratch directory for screenshots (kept with ANNAL_KEEP_SCREENSHOTS=1). */
let profile: string;

beforeAll(async () => {
  const executablePath = chromiumCommand();
  annal = await startTestHttpAnnal({ auth: "oidc" });
  profile = await mkdtemp(join(tmpdir(), "annal-chromium-"));
  browser = await chromium.launch({
    executablePath,
    // As root in a container; and no background traffic to the internet, which this
    // machine refuses (and which would hide a page that loads from a CDN).
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await annal?.close();
  if (profile && process.env.ANNAL_KEEP_SCREENSHOTS === undefined) await rm(profile, { recursive: true, force: true });
});

async function openReference(): Promise<{ page: Page; foreign: string[]; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const foreign: string[] = [];
  const problems: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(annal.url) && !request.url().startsWith("data:")) foreign.push(request.url());
  });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  await page.goto(`${annal.url}/docs`);
  await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
  return { page, foreign, problems };
}

describe("API reference page in headless chromium", () => {
  it("renders every operation, the append first, with Markdown rendered, loading nothing from elsewhere", async () => {
    const { page, foreign, problems } = await openReference();
    const document = (await (await fetch(`${annal.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(await page.locator(".opblock").count()).toBe(documented);

    const first = page.locator(".opblock").first();
    expect(await first.getAttribute("class")).toContain("opblock-post");
    expect(await first.locator(".opblock-summary-path").getAttribute("data-path")).toBe("/streams/{streamId}/events");

    // Descriptions are rendered, not shown as raw Markdown.
    await first.locator(".opblock-summary").click();
    const description = first.locator(".opblock-description-wrapper").first();
    await description.waitFor();
    expect(await description.locator("code").count()).toBeGreaterThan(0);
    expect(await description.innerText()).not.toContain("`");

    await page.screenshot({ path: join(profile, "docs.png"), fullPage: false });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("authorizes with the development issuer's client credentials and appends an event with Try it out", async () => {
    const { page, foreign, problems } = await openReference();
    const writer = annal.devClients.find((c) => c.role === "writer")!;

    await page.locator(".auth-wrapper .authorize").click();
    const modal = page.locator(".modal-ux");
    await modal.waitFor();
    await modal.locator("#client_id_clientCredentials").fill(writer.clientId);
    await modal.locator("#client_secret_clientCredentials").fill(writer.clientSecret);
    // The OAuth2 scheme's own Authorize button (the Bearer one is the first container).
    const oauth = modal.locator(".auth-container").filter({ has: page.locator("#client_id_clientCredentials") });
    await oauth.locator("button.authorize").click();
    // Authorized, the scheme shows its client id as text and offers Logout.
    await modal.locator("button", { hasText: "Logout" }).waitFor({ timeout: 15_000 });
    await modal.locator("button.btn-done").first().click();

    const append = page.locator(".opblock").first();
    await append.locator(".opblock-summary").click();
    await append.locator(".try-out__btn").click();
    await append.locator('input[placeholder="streamId"]').fill("docs-try-1");
    await append.locator("textarea.body-param__text").fill(JSON.stringify({ events: [{ type: "TriedFromDocs", data: { ok: true } }] }));
    await append.locator("button.execute").click();
    const status = append.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 15_000 });
    expect((await status.innerText()).trim()).toBe("201");
    await page.screenshot({ path: join(profile, "try-it-out.png"), fullPage: false });

    // The event is there, appended by the writer client the page authorized as.
    const token = await annal.token("reader");
    const read = await fetch(`${annal.url}/streams/docs-try-1/events`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await read.json()) as { events: Array<{ type: string; metadata: unknown }> };
    expect(body.events.map((e) => e.type)).toEqual(["TriedFromDocs"]);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
