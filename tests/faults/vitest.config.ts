// `npm run test:faults`: the fault-injection suite (tests/faults). Minutes long (every fault waits for a supervisor
// to notice and a process to come back), so it is not part of `npm test`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "faults",
    environment: "node",
    include: ["tests/faults/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
