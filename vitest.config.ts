import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Lab tests create network namespaces and real servers; a few files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
  },
});
