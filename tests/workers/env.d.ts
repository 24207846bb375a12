// Gives `env` and `exports` from "cloudflare:workers" the Worker's own types.
import type { Env as TesseraEnv } from "../../src/lib/platform/env";

declare global {
  namespace Cloudflare {
    interface Env extends TesseraEnv {}
    interface GlobalProps {
      mainModule: typeof import("../../src/index");
      durableNamespaces: "Hub" | "JobBoard" | "RateLimiter";
    }
  }
}

declare module "vitest" {
  /** What tests/workers/global-setup.ts provides to the tests (inject()). */
  export interface ProvidedContext {
    webhookReceiverUrl: string;
  }
}
