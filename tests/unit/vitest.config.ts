import { defineConfig } from "vitest/config";

// Pure modules (no bindings, no database, no processes) under plain Node: seconds, files in parallel.
export default defineConfig({
  test: {
    name: "unit",
    environment: "node",
    include: ["tests/unit/**/*.test.ts"],
  },
});
