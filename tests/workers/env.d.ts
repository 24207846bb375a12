// `env` from "cloudflare:workers" in tests: worker-configuration.d.ts (npm run cf-typegen) declares Cloudflare.Env
// and GlobalProps from wrangler.toml; the secrets are typed by hand (src/lib/platform/env.ts).
import type { Secrets } from "../../src/lib/platform/env";

declare global {
  namespace Cloudflare {
    interface Env extends Secrets {}
  }
}

declare module "vitest" {
  /** What tests/workers/global-setup.ts provides to the tests (inject()). */
  export interface ProvidedContext {
    webhookReceiverUrl: string;
  }
}
