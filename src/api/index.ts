// The HTTP edge: the app factory, the server start, and the types a composition root needs.
export { createApp } from "./app.js";
export type { ApiDeps, ApiOptions } from "./context.js";
export { startServer, type FetchApp, type RunningServer, type ServerOptions } from "./serve.js";
export { createRoutes, type Permission, type RouteDefinition } from "./routes.js";
export { PROBLEMS, type ProblemBody } from "./problems.js";
export { API_VERSION_HEADER, SUPPORTED_API_VERSIONS } from "./middleware/api-version.js";
