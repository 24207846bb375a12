// GET /metrics (docs/analytics.md): the platform's counters in the Prometheus text format (version 0.0.4), read
// from the stored metrics, so every isolate answers the same totals.
import { sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";

/** Escapes a label value as the text format asks: backslash, double quote and newline. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function family(name: string, type: "counter" | "gauge", help: string, samples: string[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join("\n");
}

export async function prometheusText(database: HttpDb): Promise<string> {
  const [requests, events, deliveries, notes] = await database.batch([
    database.execute<{ method: string; route: string; status: number; n: string; ms: number }>(sql`
      SELECT method, route, status, count(*) AS n, sum(duration_ms) AS ms FROM request_metrics
      GROUP BY method, route, status ORDER BY route, method, status`),
    database.execute<{ name: string; n: string }>(sql`
      SELECT name, count(*) AS n FROM analytics_events GROUP BY name ORDER BY name`),
    database.execute<{ status: string; n: string }>(sql`
      SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status ORDER BY status`),
    database.execute<{ n: string }>(sql`SELECT count(*) AS n FROM notifications`),
  ]);
  const requestLabels = (r: { method: string; route: string; status: number }) =>
    `method="${label(r.method)}",route="${label(r.route)}",status="${r.status}"`;
  return `${[
    family(
      "tessera_http_requests_total",
      "counter",
      "Requests answered, by method, route and status.",
      requests.rows.map((r) => `tessera_http_requests_total{${requestLabels(r)}} ${Number(r.n)}`),
    ),
    family(
      "tessera_http_request_duration_ms_sum",
      "counter",
      "Total time spent answering, in milliseconds, by method, route and status.",
      requests.rows.map((r) => `tessera_http_request_duration_ms_sum{${requestLabels(r)}} ${Number(r.ms)}`),
    ),
    family(
      "tessera_analytics_events_total",
      "counter",
      "Analytics events stored, by name.",
      events.rows.map((r) => `tessera_analytics_events_total{name="${label(r.name)}"} ${Number(r.n)}`),
    ),
    family(
      "tessera_webhook_deliveries",
      "gauge",
      "Webhook deliveries by status (pending, delivered, dead).",
      deliveries.rows.map((r) => `tessera_webhook_deliveries{status="${label(r.status)}"} ${Number(r.n)}`),
    ),
    family("tessera_notifications_total", "counter", "Notifications recorded.", [
      `tessera_notifications_total ${Number(notes.rows[0]?.n ?? 0)}`,
    ]),
  ].join("\n")}\n`;
}
