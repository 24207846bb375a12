import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "node",
    environment: "node",
    include: ["tests/node/**/*.test.ts"],
    // One file at a time: PGlite start-up is CPU-bound on a 2-core machine, and the CLI tests
    // spawn bridges of their own.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
