import { defineConfig } from "vitest/config";

// Two projects so that unit and vector tests never wait for services: only files under
// test/integration and test/e2e bring up PostgreSQL, Kafka and MinIO (test/support/global-setup.ts).
export default defineConfig({
  test: {
    pool: "forks",
    // Real services on a 2-core machine: a Kafka consumer-group join alone can take seconds.
    testTimeout: 60_000,
    hookTimeout: 240_000,
    teardownTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/vectors/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "services",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
