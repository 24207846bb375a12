// The Worker entry and the only wiring file: the gateway, the services at their prefixes,
// the Durable Object classes and the queue consumer.
import { adminConsoleService } from "../functions/admin";
import { adminConsolePages } from "../functions/admin-console";
import { analyticsService, eventsService, metricsService } from "../functions/analytics";
import { audioService } from "../functions/audio";
import { authService } from "../functions/auth";
import { documentsService } from "../functions/documents";
import { filesService } from "../functions/files";
import { fusionService } from "../functions/fusion";
import { gpuService } from "../functions/gpu";
import { hubService } from "../functions/hub";
import { jobsService } from "../functions/jobs";
import { jobsAdminService } from "../functions/jobs-admin";
import { keysService } from "../functions/keys";
import { legacyAbMctsService } from "../functions/legacy/ab-mcts";
import { authServiceAuth, authServiceHealth, legacyAuthService } from "../functions/legacy/auth";
import { legacyFilesService } from "../functions/legacy/files";
import { legacyFusionService } from "../functions/legacy/fusion";
import { apiGatewayHealth } from "../functions/legacy/gateway";
import { legacyHubService, websocketHubService } from "../functions/legacy/hub";
import { legacyLlmService } from "../functions/legacy/llm";
import {
  legacyContextsService,
  legacyMemoriesService,
  legacyMemoryService,
  memoryServiceHealth,
} from "../functions/legacy/memory";
import { llmService } from "../functions/llm";
import { memoriesService } from "../functions/memories";
import { memoryService } from "../functions/memory";
import { notificationsService, webhookAdminService } from "../functions/notifications";
import { searchesService } from "../functions/searches";
import { serviceCredentialsService } from "../functions/service-credentials";
import { servicesService } from "../functions/services";
import { systemService } from "../functions/system";
import { usersService } from "../functions/users";
import pkg from "../package.json";
import { createGateway } from "./lib/platform/app";
import type { Env } from "./lib/platform/env";
import { consumeQueue } from "./lib/platform/queue";
import { runCron } from "./lib/platform/scheduled";

export { AgentBandit } from "../durable-objects/agent-bandit";
export { FusionRun } from "../durable-objects/fusion-run";
export { HubConnections } from "../durable-objects/hub-connections";
export { HubDirectory } from "../durable-objects/hub-directory";
export { Hub } from "../durable-objects/hub-room";
export { HubTickets } from "../durable-objects/hub-tickets";
export { JobBoard } from "../durable-objects/job-board";
export { LegacyHub } from "../durable-objects/legacy-hub";
export { LlmTuner } from "../durable-objects/llm-tuner";
export { RateLimiter } from "../durable-objects/rate-limiter";
export { SearchRun } from "../durable-objects/search";
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
  { prefix: "/api/context", router: legacyContextsService },
  { prefix: "/ws", router: legacyHubService },
  // go-services' own base paths (docs/legacy.md "Which generation answers where").
  { prefix: "/auth-service/auth", router: authServiceAuth },
  { prefix: "/auth-service", router: authServiceHealth },
  { prefix: "/memory-service/memories", router: legacyMemoriesService },
  { prefix: "/memory-service/contexts", router: legacyContextsService },
  { prefix: "/memory-service", router: memoryServiceHealth },
  { prefix: "/websocket-hub", router: websocketHubService },
  { prefix: "/api-gateway", router: apiGatewayHealth },
  { prefix: "/v1/files", router: filesService },
  { prefix: "/v1/documents", router: documentsService },
  { prefix: "/v1/fusion", router: fusionService },
  { prefix: "/api/files", router: legacyFilesService },
  { prefix: "/api/v1/fusion", router: legacyFusionService },
  { prefix: "/v1/searches", router: searchesService },
  { prefix: "/api/v1", router: legacyAbMctsService },
  { prefix: "", router: llmService },
  { prefix: "/api/v1", router: legacyLlmService },
  { prefix: "/v1/notifications", router: notificationsService },
  { prefix: "/v1/admin", router: webhookAdminService },
  { prefix: "/v1/events", router: eventsService },
  { prefix: "/v1/analytics", router: analyticsService },
  { prefix: "", router: metricsService },
  { prefix: "/v1/admin", router: adminConsoleService },
  { prefix: "", router: adminConsolePages },
]);

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
  scheduled: (controller, env, ctx) => ctx.waitUntil(runCron(controller.cron, env)),
} satisfies ExportedHandler<Env, unknown>;
