import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "gpu-worker",
    environment: "node",
    include: ["tests/gpu-worker/**/*.test.ts"],
    // Engine files load real models; one file at a time keeps a 2-core machine from thrashing.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
