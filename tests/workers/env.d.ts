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

// What tests read with inject() (provided by global-setup.ts, which the Worker's tsconfig does not compile).
declare module "vitest" {
  export interface ProvidedContext {
    scorerUrl: string;
  }
}
