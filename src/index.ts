// The Worker entry and the only wiring file: the gateway, the services at their prefixes,
// the Durable Object classes and the queue consumer.
import { audioService } from "../functions/audio";
import { authService } from "../functions/auth";
import { filesService } from "../functions/files";
import { gpuService } from "../functions/gpu";
import { hubService } from "../functions/hub";
import { jobsService } from "../functions/jobs";
import { jobsAdminService } from "../functions/jobs-admin";
import { keysService } from "../functions/keys";
import { legacyAuthService } from "../functions/legacy/auth";
import { legacyFilesService } from "../functions/legacy/files";
import { legacyHubService } from "../functions/legacy/hub";
import { legacyMemoriesService, legacyMemoryService } from "../functions/legacy/memory";
import { memoriesService } from "../functions/memories";
import { memoryService } from "../functions/memory";
import { serviceCredentialsService } from "../functions/service-credentials";
import { servicesService } from "../functions/services";
import { systemService } from "../functions/system";
import { usersService } from "../functions/users";
import pkg from "../package.json";
import { createGateway } from "./lib/platform/app";
import type { Env } from "./lib/platform/env";
import { consumeQueue } from "./lib/platform/queue";
import { runCron } from "./lib/platform/scheduled";

export { HubConnections } from "../durable-objects/hub-connections";
export { Hub } from "../durable-objects/hub-room";
export { HubTickets } from "../durable-objects/hub-tickets";
export { JobBoard } from "../durable-objects/job-board";
export { LegacyHub } from "../durable-objects/legacy-hub";
export { RateLimiter } from "../durable-objects/rate-limiter";
export { ServiceCredentials } from "../durable-objects/service-credentials";

const app = createGateway({ title: "Tessera", version: pkg.version, description: pkg.description }, [
  { prefix: "", router: systemService({ service: "tessera", version: pkg.version }) },
  { prefix: "", router: keysService },
  { prefix: "/v1/auth", router: authService },
  { prefix: "/v1/users", router: usersService },
  { prefix: "/v1/services", router: servicesService },
  { prefix: "/v1/memory", router: memoryService },
  { prefix: "/v1/memories", router: memoriesService },
  { prefix: "/v1/hub", router: hubService },
  { prefix: "/v1/jobs", router: jobsService },
  { prefix: "/v1/gpu", router: gpuService },
  { prefix: "/v1/admin", router: jobsAdminService },
  { prefix: "/v1/admin", router: serviceCredentialsService },
  { prefix: "/v1/audio", router: audioService },
  { prefix: "/api/auth", router: legacyAuthService },
  { prefix: "/api/memory", router: legacyMemoryService },
  { prefix: "/api/memories", router: legacyMemoriesService },
  { prefix: "/ws", router: legacyHubService },
  { prefix: "/v1/files", router: filesService },
  { prefix: "/api/files", router: legacyFilesService },
]);

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
  scheduled: (controller, env, ctx) => ctx.waitUntil(runCron(controller.cron, env)),
} satisfies ExportedHandler<Env, unknown>;
