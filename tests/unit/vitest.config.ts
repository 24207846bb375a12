import { defineConfig } from "vitest/config";

// Pure code (no I/O, no runtime): fast, in plain Node.
export default defineConfig({
  test: {
    name: "unit",
    environment: "node",
    include: ["tests/unit/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
