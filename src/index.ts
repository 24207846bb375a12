// The Worker entry and the only wiring file: the gateway, the services at their prefixes,
// the Durable Object classes and the queue consumer.
import { authService } from "../functions/auth";
import { keysService } from "../functions/keys";
import { legacyAuthService } from "../functions/legacy-auth";
import { systemService } from "../functions/system";
import { usersService } from "../functions/users";
import pkg from "../package.json";
import { createGateway } from "./lib/app";
import type { Env } from "./lib/env";
import { consumeQueue } from "./lib/queue";

export { Hub } from "../durable-objects/hub";
export { JobBoard } from "../durable-objects/job-board";
export { RateLimiter } from "../durable-objects/rate-limiter";

const app = createGateway({ title: "Tessera", version: pkg.version, description: pkg.description }, [
  { prefix: "", router: systemService({ service: "tessera", version: pkg.version }) },
  { prefix: "", router: keysService },
  { prefix: "/v1/auth", router: authService },
  { prefix: "/v1/users", router: usersService },
  { prefix: "/api/auth", router: legacyAuthService },
]);

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
} satisfies ExportedHandler<Env, unknown>;
