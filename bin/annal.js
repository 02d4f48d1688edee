#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx on Node; Bun runs TypeScript natively.
if (typeof globalThis.Bun === "undefined") {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("../src/cli/main.ts");
