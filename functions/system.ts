// The gateway's first floor: who is serving, and whether everything it needs answers.
import { z } from "zod";
import { type HealthReport, healthReport } from "../src/lib/platform/health";
import { ApiRouter } from "../src/lib/platform/router";

const CheckSchema = z.object({
  status: z.enum(["ok", "fail"]),
  required: z.boolean(),
  latencyMs: z.number(),
  detail: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});

const HealthSchema = z.object({
  status: z.enum(["ok", "degraded", "down"]),
  timestamp: z.string(),
  services: z.record(z.string(), z.boolean()),
  checks: z.record(z.string(), CheckSchema),
});

export function systemService(info: { service: string; version: string }): ApiRouter {
  return new ApiRouter("system")
    .route(
      {
        method: "get",
        path: "/",
        auth: "public",
        rateLimit: false,
        summary: "Service name, version and status (the legacy gateway's shape)",
        responses: {
          200: {
            description: "Running",
            schema: z.object({ service: z.string(), version: z.string(), status: z.literal("running") }),
          },
        },
      },
      (c) => c.json({ service: info.service, version: info.version, status: "running" as const }),
    )
    .route(
      {
        method: "get",
        path: "/health",
        auth: "public",
        rateLimit: false,
        summary: "Health of every dependency (database, KV, R2, Durable Objects, queue)",
        description:
          "Each check has a status and its latency. 503 when a required check fails. Results are reused for HEALTH_CACHE_SECONDS within one isolate.",
        responses: {
          200: { description: "Every required dependency answers", schema: HealthSchema },
          503: { description: "A required dependency failed", schema: HealthSchema },
        },
      },
      (c) => {
        const answer = (report: HealthReport) =>
          c.json(report, report.status === "down" ? 503 : 200, { "Cache-Control": "no-store" });
        const report = healthReport(c.env, c.get("config"));
        // A fresh cached report answers synchronously (no deadline timer); a refresh is awaited.
        return report instanceof Promise ? report.then(answer) : answer(report);
      },
    );
}
