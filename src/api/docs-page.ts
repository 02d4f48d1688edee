/**
 * A self-contained HTML reference rendered from the OpenAPI document. Loads nothing
 * from the network (no CDN script, no fonts): Annal runs on machines without internet,
 * and the page is served under a `default-src 'none'` CSP.
 */
export function renderDocsPage(document: Record<string, unknown>): string {
  const info = asRecord(document["info"]);
  const paths = asRecord(document["paths"]);
  const schemas = asRecord(asRecord(document["components"])["schemas"]);
  const sections: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, value] of Object.entries(asRecord(item))) {
      sections.push(renderOperation(method, path, asRecord(value)));
    }
  }
  const schemaSections = Object.entries(schemas).map(
    ([name, schema]) => `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(text(info["title"]))} API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}section{margin:1.5rem 0}
.m{display:inline-block;min-width:3.5rem;font:bold 13px monospace;padding:2px 6px;border-radius:4px;background:#e6eefc;color:#1a4fa0}
.m.post{background:#e5f6e8;color:#17662a}code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f5f6f8;padding:.75rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}.perm{color:#666}
</style></head><body>
<h1>${escapeHtml(text(info["title"]))} <small>v${escapeHtml(text(info["version"]))}</small></h1>
<p>${escapeHtml(text(info["description"]))}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a></p>
<h2>Operations</h2>
${sections.join("\n")}
<h2>Schemas</h2>
${schemaSections.join("\n")}
</body></html>
`;
}

function renderOperation(method: string, path: string, operation: Record<string, unknown>): string {
  const parameters = Array.isArray(operation["parameters"]) ? (operation["parameters"] as unknown[]).map(asRecord).filter((p) => typeof p["name"] === "string") : [];
  const parameterRows = parameters.map(
    (p) => `<tr><td><code>${escapeHtml(text(p["name"]))}</code></td><td>${escapeHtml(text(p["in"]))}</td><td>${escapeHtml(JSON.stringify(p["schema"] ?? {}))}</td><td>${escapeHtml(text(p["description"]))}</td></tr>`,
  );
  const body = asRecord(operation["requestBody"]);
  const bodyContent = Object.keys(body).length > 0 ? `<p>Request body: <pre>${escapeHtml(JSON.stringify(body["content"], null, 2))}</pre></p>` : "";
  const responses = Object.entries(asRecord(operation["responses"])).map(([status, response]) => {
    const content = Object.keys(asRecord(asRecord(response)["content"]));
    return `<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(text(asRecord(response)["description"]))}</td><td>${escapeHtml(content.join(", "))}</td></tr>`;
  });
  return `<section id="${escapeHtml(text(operation["operationId"]))}">
<h3><span class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code> — ${escapeHtml(text(operation["summary"]))}</h3>
<p class="perm">Permission: <code>${escapeHtml(text(operation["x-permission"]))}</code></p>
${operation["description"] === undefined ? "" : `<p>${escapeHtml(text(operation["description"]))}</p>`}
${parameterRows.length > 0 ? `<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th>Description</th></tr>${parameterRows.join("")}</table>` : ""}
${bodyContent}
<table><tr><th>Status</th><th>Meaning</th><th>Content</th></tr>${responses.join("")}</table>
</section>`;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function text(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}
