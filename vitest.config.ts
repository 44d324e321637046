import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "tests/**/*.test.ts", "type-tests/**/*.test.ts"],
    setupFiles: ["./tests/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // GPU tests share one software device per file; run files in parallel across 2 cores.
    fileParallelism: true
  }
})
