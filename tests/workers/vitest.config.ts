import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          DATABASE_URL: inject("databaseUrl"),
          JWT_PRIVATE_KEY: inject("jwtPrivateKey"),
          JWT_PUBLIC_KEYS: inject("jwtPublicKeys"),
          ADMIN_BOOTSTRAP_TOKEN: "test-bootstrap-token-0123456789",
          ENVIRONMENT: "test",
          HEALTH_CACHE_SECONDS: "0",
          LOG_LEVEL: "warn",
          CORS_ORIGINS: "https://app.example.com",
        },
      },
    })),
  ],
  test: {
    name: "workers",
    include: ["tests/workers/**/*.test.ts"],
    globalSetup: ["./tests/workers/global-setup.ts"],
    testTimeout: 20_000,
  },
});
