import { defineConfig } from "vitest/config";

// CI asks for a JSON report too (VITEST_JSON_REPORT=path), to print a plain "N passed, N failed" line.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Lab tests create network namespaces and real servers; a few files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
  },
});
