import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` needs nothing but this process; `integration` (files named
 * `*.int.test.ts`, and everything under test/) needs RabbitMQ, Redis and NATS, which the
 * global setup finds or starts before any test runs.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["libs/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "cli/src/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["libs/*/src/**/*.int.test.ts", "services/*/src/**/*.int.test.ts", "cli/src/**/*.int.test.ts", "test/**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
