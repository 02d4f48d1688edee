import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Type } from "@sinclair/typebox";
import { LedgerError } from "../core/index.js";
import type { ResolvedApiOptions } from "./context.js";
import { buildOpenApiDocument } from "./openapi.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { defineRoute, type RouteDefinition } from "./route-definition.js";
import { AnyObject, Problem, Text } from "./schemas.js";

/**
 * The OpenAPI document and the API reference page (Swagger UI from the swagger-ui-dist
 * package, served by Annal itself: no CDN, so it works offline and under a CSP that
 * allows nothing but this origin). Both are derived from `table()`, the whole route table
 * these routes are part of, on first use.
 */
export function createDocsRoutes(table: () => readonly RouteDefinition[], options: ResolvedApiOptions & { identityProviderPath?: string | undefined }): RouteDefinition[] {
  let documentText: string | undefined;
  const document = () => (documentText ??= JSON.stringify(buildOpenApiDocument(table(), { apiVersions: options.apiVersions, identityProviderPath: options.identityProviderPath })));

  return [
    defineRoute({
      method: "GET",
      path: "/openapi.json",
      permission: "public",
      operationId: "openApi",
      tags: ["operations"],
      summary: "This document",
      description: "OpenAPI 3.1, derived from the same route definitions and schemas that validate requests.",
      responses: { 200: { description: "The OpenAPI 3.1 document.", content: { "application/json": AnyObject } } },
      handle: (c) => c.body(document(), 200, { "Content-Type": "application/json" }),
    }),
    defineRoute({
      method: "GET",
      path: "/docs",
      permission: "public",
      operationId: "docs",
      tags: ["operations"],
      summary: "API reference (Swagger UI)",
      description: "Renders this document. **Authorize** with a Bearer token, or (development issuer) with a client id and secret; then **Try it out**.",
      responses: { 200: { description: "The reference page.", content: { "text/html": Text("HTML page.") } } },
      handle: (c) => c.html(DOCS_PAGE, 200, { "Content-Security-Policy": DOCS_CSP }),
    }),
    defineRoute({
      method: "GET",
      path: "/docs/assets/:file",
      permission: "public",
      operationId: "docsAsset",
      tags: ["operations"],
      summary: "A static file of the API reference page",
      request: { params: Type.Object({ file: Type.String({ enum: Object.keys(ASSETS), description: "One of the page's files." }) }) },
      responses: {
        200: { description: "The file.", content: { "text/javascript": Text("Script."), "text/css": Text("Style sheet."), "image/png": Type.String({ contentMediaType: "image/png", description: "Icon." }) } },
        404: { description: "No such file (`ERR_NOT_FOUND`).", content: { [PROBLEM_CONTENT_TYPE]: Problem } },
      },
      async handle(c, { params: { file } }) {
        const asset = ASSETS[file];
        if (asset === undefined) throw new LedgerError("ERR_NOT_FOUND", `no file ${file}`);
        return c.body(await asset.load(), 200, { "Content-Type": asset.type, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff" });
      },
    }),
  ];
}

// Relative URLs: the page works wherever Annal is mounted. validatorUrl null: Swagger UI
// would otherwise send the document to an online validator.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  persistAuthorization: false,
});
`;

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Annal API reference</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body></html>
`;

// Swagger UI sets inline style attributes and uses data: images; everything else is this origin.
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const swaggerUiDir = (): string => dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const packageFile = (name: string) => {
  let cached: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return () => (cached ??= readFile(join(swaggerUiDir(), name)).then((b) => new Uint8Array(b)));
};

const ASSETS: Readonly<Record<string, { type: string; load: () => Promise<Uint8Array<ArrayBuffer> | string> }>> = {
  "swagger-ui-bundle.js": { type: "text/javascript; charset=utf-8", load: packageFile("swagger-ui-bundle.js") },
  "swagger-ui.css": { type: "text/css; charset=utf-8", load: packageFile("swagger-ui.css") },
  "favicon-32x32.png": { type: "image/png", load: packageFile("favicon-32x32.png") },
  "init.js": { type: "text/javascript; charset=utf-8", load: () => Promise.resolve(INIT_SCRIPT) },
};
