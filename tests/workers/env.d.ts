// `env` from "cloudflare:workers" in tests: worker-configuration.d.ts (npm run cf-typegen) declares Cloudflare.Env
// and GlobalProps from wrangler.toml; the secrets are typed by hand (src/lib/platform/env.ts).
import type { Secrets } from "../../src/lib/platform/env";

declare global {
  namespace Cloudflare {
    interface Env extends Secrets {}
  }
}

// What tests read with inject() (provided by global-setup.ts, which the Worker's tsconfig does not compile).
declare module "vitest" {
  export interface ProvidedContext {
    scorerUrl: string;
    /** The DNS-over-HTTPS double (NET_RESOLVER_URL); `/control/queries?name=` counts its questions. */
    resolverUrl: string;
    /** The OpenAI-protocol test upstream behind LLM_ROUTES (tests/workers/global-setup.ts). */
    llmUpstreamUrl: string;
    webhookReceiverUrl: string;
  }
}
