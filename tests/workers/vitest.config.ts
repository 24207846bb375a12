import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/**
 * Files that evict every Durable Object in the runtime (abortAllDurableObjects): they cut the sockets and RPC stubs of
 * any test running beside them, so they run in a project of their own, one file at a time, after the others.
 */
const ISOLATED = [
  "tests/workers/hub-eviction.test.ts",
  "tests/workers/job-board.test.ts",
  "tests/workers/searches.test.ts",
];

/** The Worker in workerd with the test bindings; one runtime per project. */
const runtime = () =>
  cloudflareTest(({ inject }) => ({
    main: "./src/index.ts",
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        DATABASE_URL: inject("databaseUrl"),
        // For tests/workers/outage.test.ts only: a database that accepts connections and never answers.
        TEST_FROZEN_DATABASE_URL: inject("frozenDatabaseUrl"),
        // A DNS-over-HTTPS double (global-setup.ts) for the outgoing-request guard.
        NET_RESOLVER_URL: inject("resolverUrl"),
        JWT_PRIVATE_KEY: inject("jwtPrivateKey"),
        JWT_PUBLIC_KEYS: inject("jwtPublicKeys"),
        ADMIN_BOOTSTRAP_TOKEN: "test-bootstrap-token-0123456789",
        GPU_WORKER_BOOTSTRAP_SECRET: "tgw_test-bootstrap-worker-secret-0123456789abcdef",
        ENVIRONMENT: "test",
        HEALTH_CACHE_SECONDS: "0",
        LOG_LEVEL: "warn",
        CORS_ORIGINS: "https://app.example.com",
        // Half the default, so the test of a speech request that outlives its wait takes 10 s, not 20; long enough
        // that a test worker finishes its job inside the wait on a heavily loaded machine.
        JOBS_AUDIO_WAIT_MS: "10000",
        // Small, so the files tests reach the size limit (413) and the queued indexing path with small bodies.
        FILES_MAX_BYTES: "2097152",
        FILES_INLINE_INDEX_MAX_BYTES: "65536",
        // The LLM router over a local OpenAI-protocol server (tests/support/openai-upstream.ts).
        LLM_ROUTES: inject("llmRoutes"),
        LLM_KEY_TEST: "sk-test-key",
        // Webhooks to the local test receiver, retried after 1, 2, 4 s and dead after 3 attempts.
        WEBHOOKS_ALLOW_PRIVATE: "true",
        WEBHOOKS_BACKOFF_BASE_SECONDS: "1",
        WEBHOOKS_MAX_ATTEMPTS: "3",
        // Request metrics written after every request, so a summary sees them at once.
        METRICS_FLUSH_MS: "0",
      },
    },
  }));

function project(name: string, files: { include: string[]; exclude?: string[] }, parallel: boolean) {
  return {
    plugins: [runtime()],
    test: {
      name,
      ...files,
      globalSetup: ["./tests/workers/global-setup.ts"],
      // Generous: on a loaded 2-core machine, files running side by side stretch every test and every sign-up.
      testTimeout: 40_000,
      hookTimeout: 60_000,
      // Files share one runtime and one database; each test makes its own users, rooms and boards (random names,
      // random client addresses: tests/workers/support.ts), so files do not see each other.
      fileParallelism: parallel,
      // The isolated project after the others, never beside them.
      sequence: { groupOrder: parallel ? 0 : 1 },
    },
  } satisfies TestProjectInlineConfiguration;
}

export default defineConfig({
  test: {
    projects: [
      project("workers", { include: ["tests/workers/**/*.test.ts"], exclude: ISOLATED }, true),
      project("workers-isolated", { include: ISOLATED }, false),
    ],
  },
});
