import type { TSchema } from "@sinclair/typebox";
import { API_VERSION_HEADER, latestApiVersion, type ApiVersionPolicy } from "./middleware/api-version.js";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";
import { openApiPath, type ResponseSpec, type RouteDefinition } from "./route-definition.js";
import { Problem } from "./schemas.js";

// The OpenAPI 3.1 document, derived from the route table: paths, parameters, bodies and
// answers come from each route's definition, whose schemas also validate its requests
// (route-definition.ts). Nothing here is written per route, so a new route is documented
// by defining it, and the document cannot describe a route the app does not serve.

type JsonObject = { [key: string]: unknown };

export interface OpenApiOptions {
  apiVersions: ApiVersionPolicy;
  /** Mount path of the embedded development identity provider, when it runs (`/oidc`). */
  identityProviderPath?: string | undefined;
}

/** Tags in the order a reader needs them: appending is the main job. */
const TAGS = [
  { name: "events", description: "Append events and read them back." },
  { name: "audit", description: "Checkpoints, proofs, receipts and keys: everything verifies offline with `annal/verify`." },
  { name: "admin", description: "Operator routes." },
  { name: "operations", description: "Health, readiness, metrics and this reference." },
];

/** The OpenAPI 3.1 document of `routes`. */
export function buildOpenApiDocument(routes: readonly RouteDefinition[], options: OpenApiOptions): JsonObject {
  const components = new Map<string, JsonObject>();
  const emit = (schema: TSchema): JsonObject => toJsonSchema(schema, components);
  const latest = latestApiVersion(options.apiVersions);
  const devIssuer = options.identityProviderPath;

  const paths: Record<string, Record<string, JsonObject>> = {};
  // Routes tagged "events" first: the reference opens on the append.
  const ordered = [...routes].sort((a, b) => tagRank(a) - tagRank(b));
  for (const route of ordered) {
    const parameters: JsonObject[] = [];
    for (const [location, schema] of [["path", route.request.params], ["query", route.request.query], ["header", route.request.headers]] as const) {
      if (schema === undefined) continue;
      const required = new Set(schema.required ?? []);
      for (const [name, property] of Object.entries(schema.properties)) {
        const { description, ...rest } = property as TSchema & { description?: string };
        parameters.push({ name, in: location, required: location === "path" || required.has(name), ...(description ? { description } : {}), schema: emit(rest) });
      }
    }
    parameters.push({ $ref: "#/components/parameters/ApiVersion" });

    const responses: Record<string, JsonObject> = {};
    for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec, emit);
    const problem = (description: string): JsonObject => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: emit(Problem) } } });
    // What every route can answer, whatever its own table says.
    const badRequest = "Invalid input (`ERR_INVALID_INPUT`, `ERR_INVALID_JSON`) or an unsupported `Annal-Api-Version` (`ERR_API_VERSION`, listing `supported`).";
    responses["400"] = responses["400"] === undefined ? problem(badRequest) : { ...responses["400"], description: `${String(responses["400"]["description"])} Or: ${badRequest}` };
    if (route.permission !== "public") {
      responses["401"] ??= problem("No valid Bearer access token (`ERR_UNAUTHENTICATED`); see `WWW-Authenticate`.");
      responses["403"] ??= problem(`The token's roles do not grant \`${route.permission}\` here (\`ERR_FORBIDDEN\`).`);
    }
    responses["500"] ??= problem("Internal error; the detail is generic, quote `requestId`.");
    responses["503"] ??= problem(
      route.method === "GET"
        ? "A dependency did not answer in time, or the service is overloaded (`ERR_UNAVAILABLE`, `ERR_OVERLOADED`): nothing changed, retry after `Retry-After` seconds."
        : "Not done (`ERR_UNAVAILABLE`, `ERR_OVERLOADED`: nothing was written, retry after `Retry-After`), or its outcome is unknown (`ERR_OUTCOME_UNKNOWN`: retry with the same `Idempotency-Key`, which resolves it exactly once).",
    );

    const operation: JsonObject = {
      operationId: route.operationId,
      tags: [...route.tags],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      "x-permission": route.permission,
      parameters,
      ...(route.request.body ? { requestBody: { required: true, content: { "application/json": { schema: emit(route.request.body) } } } } : {}),
      responses: sortKeys(responses),
    };
    if (route.permission !== "public") operation["security"] = devIssuer ? [{ bearer: [] }, { devIssuer: [] }] : [{ bearer: [] }];
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation;
  }

  const securitySchemes: JsonObject = {
    bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "RFC 9068 access token (`typ: at+jwt`) from the configured OIDC issuer; see docs/api.md." },
  };
  if (devIssuer) {
    securitySchemes["devIssuer"] = {
      type: "oauth2",
      description: "The embedded development identity provider: the client ids and secrets of its seeded clients (writer, reader, auditor, admin) are printed at start-up and kept in `$ANNAL_HOME/dev-clients.json`.",
      flows: { clientCredentials: { tokenUrl: `${devIssuer}/token`, scopes: { writer: "Append and read", reader: "Read", auditor: "Read, proofs and checkpoints", admin: "Everything" } } },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Annal",
      version: latest,
      description:
        "Append-only ledger: hash-chained, Ed25519-signed events with signed checkpoints. Every error is RFC 9457 " +
        `\`${PROBLEM_CONTENT_TYPE}\` with a stable \`code\`. Every response carries \`${API_VERSION_HEADER}\` and \`X-Request-Id\`. ` +
        "Unknown paths answer 404 and known paths with another method 405 (with `Allow`). Every request is answered within the configured bound (default 5 s); past it, 503 with `Retry-After`.",
    },
    servers: [{ url: "/" }],
    tags: TAGS,
    paths,
    components: {
      parameters: {
        ApiVersion: {
          name: API_VERSION_HEADER,
          in: "header",
          description: `API version; absent means the latest (${latest}). Echoed on every response; an unsupported one answers 400 \`ERR_API_VERSION\` listing \`supported\`.`,
          schema: { type: "string", enum: [...options.apiVersions.supported] },
        },
      },
      securitySchemes,
      schemas: Object.fromEntries([...components.entries()].sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

function tagRank(route: RouteDefinition): number {
  const index = TAGS.findIndex((t) => t.name === route.tags[0]);
  return index < 0 ? TAGS.length : index;
}

function response(spec: ResponseSpec, emit: (schema: TSchema) => JsonObject): JsonObject {
  return {
    description: spec.description,
    ...(spec.headers ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([name, h]) => [name, { description: h.description, schema: emit(h.schema) }])) } : {}),
    ...(spec.content ? { content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema: emit(schema) }])) } : {}),
  };
}

/**
 * A TypeBox schema as plain JSON Schema: TypeBox's symbol-keyed metadata drops out with
 * the JSON round trip, and every sub-schema with an `$id` becomes a reference to a named
 * component (collected into `components`).
 */
function toJsonSchema(schema: TSchema, components: Map<string, JsonObject>): JsonObject {
  const walk = (value: unknown, top: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, false));
    if (value === null || typeof value !== "object") return value;
    const object = value as Record<string, unknown>;
    const id = object["$id"];
    if (typeof id === "string" && !top) {
      if (!components.has(id)) {
        components.set(id, {}); // placeholder: a schema that refers to itself terminates
        components.set(id, walk(object, true) as JsonObject);
      }
      return { $ref: `#/components/schemas/${id}` };
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(object)) if (key !== "$id") out[key] = walk(v, false);
    return out;
  };
  return walk(JSON.parse(JSON.stringify(schema)), false) as JsonObject;
}

function sortKeys(object: Record<string, JsonObject>): Record<string, JsonObject> {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}
