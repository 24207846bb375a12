// The Worker entry and the only wiring file: the gateway, the services at their prefixes,
// the Durable Object classes and the queue consumer.
import { systemService } from "../functions/system";
import pkg from "../package.json";
import { createGateway } from "./lib/app";
import type { Env } from "./lib/env";
import { consumeQueue } from "./lib/queue";

export { Hub } from "../durable-objects/hub";
export { JobBoard } from "../durable-objects/job-board";

const app = createGateway({ title: "Tessera", version: pkg.version, description: pkg.description }, [
  { prefix: "", router: systemService({ service: "tessera", version: pkg.version }) },
]);

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
} satisfies ExportedHandler<Env, unknown>;
