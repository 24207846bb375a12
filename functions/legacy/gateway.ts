// go-services/api-gateway's `GET /health` at /api-gateway/health: `"healthy"` and a unix timestamp, where Tessera's
// own /health (the root-level gateway's shape) says "ok" with an RFC 3339 time. Both cannot share one path
// (docs/legacy.md "Which generation answers where").
import { z } from "zod";
import { healthReport } from "../../src/lib/platform/health";
import { ApiRouter } from "../../src/lib/platform/router";

const GatewayHealth = z.object({
  status: z.enum(["healthy", "unhealthy"]),
  timestamp: z.number().describe("Unix seconds"),
  services: z.record(z.string(), z.boolean().nullable()),
});

export const apiGatewayHealth = new ApiRouter("legacy api-gateway").route(
  {
    method: "get",
    path: "/health",
    auth: "public",
    rateLimit: false,
    summary: "Legacy (api-gateway): health with each service as a boolean and a unix timestamp",
    description: "`services` is /health's: Tessera's dependencies and the route table's upstreams.",
    responses: {
      200: { description: "Every required dependency answers", schema: GatewayHealth },
      503: { description: "A required dependency failed", schema: GatewayHealth },
    },
  },
  async (c) => {
    const report = await healthReport(c.env, c.get("config"));
    const down = report.status === "down";
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        status: down ? ("unhealthy" as const) : ("healthy" as const),
        timestamp: Math.floor(Date.now() / 1000),
        services: report.services,
      },
      down ? 503 : 200,
    );
  },
);
