// /v1/services: the gateway's route table with each upstream's health, breaker and recent error rate.
import { z } from "zod";
import { describeServices } from "../src/lib/gateway/services";
import { ApiRouter } from "../src/lib/platform/router";

const ServiceSchema = z.object({
  prefix: z.string(),
  kind: z.enum(["local", "upstream", "split", "unconfigured"]),
  name: z.string().nullable(),
  upstream: z.string().nullable(),
  upstreamPercent: z.number(),
  health: z
    .object({
      healthy: z.boolean(),
      status: z.number().optional(),
      latencyMs: z.number(),
      error: z.string().optional(),
      checkedAt: z.string(),
    })
    .nullable(),
  breaker: z
    .object({
      state: z.enum(["closed", "open", "half-open"]),
      consecutiveFailures: z.number(),
      requests: z.number(),
      errorRate: z.number(),
    })
    .nullable()
    .describe("This isolate's circuit breaker and its error rate over the last minute"),
});

export const servicesService = new ApiRouter("gateway").route(
  {
    method: "get",
    path: "/",
    auth: { role: "admin" },
    summary: "Each route prefix: its target, the upstream's last health check, breaker state and error rate",
    description: "Reads stored state only; no upstream is called.",
    responses: { 200: { description: "The route table", schema: z.object({ services: z.array(ServiceSchema) }) } },
  },
  async (c) => c.json({ services: await describeServices(c.env) }),
);
