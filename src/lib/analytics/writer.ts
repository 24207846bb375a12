// The one analytics writer (docs/analytics.md): Workers Analytics Engine where the ANALYTICS binding exists
// (production), Postgres otherwise. Callers never know which.
import { sql } from "drizzle-orm";
import { db } from "../db/client";
import type { Env } from "../platform/env";
import { REQUEST_INDEX } from "./engine-reader";
import type { StoredEvent } from "./events";

/** One request as the metrics see it. */
export interface RequestMetric {
  at: number;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  userId: string | null;
}

interface AnalyticsWriter {
  writeEvents(events: StoredEvent[]): Promise<void>;
  writeRequests(metrics: RequestMetric[]): Promise<void>;
}

/**
 * Postgres: one statement per batch with the whole batch as one JSON parameter, unpacked by
 * `json_to_recordset`. Building a drizzle VALUES list costs tens of µs a row; serialising JSON costs about one,
 * which is what keeps request metrics cheap (bench/events.ts).
 */
function postgresWriter(env: Env): AnalyticsWriter {
  return {
    async writeEvents(events) {
      if (events.length === 0) return;
      await db(env).execute(sql`
        INSERT INTO analytics_events (id, at, name, user_id, credential_id, value, props)
        SELECT id, to_timestamp(at / 1000.0), name, "userId", "credentialId", value, coalesce(props, '{}'::jsonb)
        FROM json_to_recordset(${JSON.stringify(events)}::json)
          AS e(id text, at double precision, name text, "userId" text, "credentialId" text, value double precision,
               props jsonb)
        ON CONFLICT (id) DO NOTHING`);
    },
    async writeRequests(metrics) {
      if (metrics.length === 0) return;
      await db(env).execute(sql`
        INSERT INTO request_metrics (at, method, route, status, duration_ms, user_id)
        SELECT to_timestamp(at / 1000.0), method, route, status, "durationMs", "userId"
        FROM json_to_recordset(${JSON.stringify(metrics)}::json)
          AS m(at double precision, method text, route text, status integer, "durationMs" double precision,
               "userId" text)`);
    },
  };
}

const dimension = (props: StoredEvent["props"]) => String(props.type ?? props.model ?? "");

/**
 * Analytics Engine data points: index = the event name (or "request"), blobs then doubles in a fixed order that
 * docs/analytics.md lists for queries over its SQL API.
 */
function analyticsEngineWriter(dataset: AnalyticsEngineDataset): AnalyticsWriter {
  return {
    async writeEvents(events) {
      for (const e of events) {
        dataset.writeDataPoint({
          indexes: [e.name],
          // blob6: the dimension the summary groups platform events by (a job's type, an LLM call's model).
          blobs: [e.name, e.userId ?? "", e.credentialId ?? "", JSON.stringify(e.props), e.id, dimension(e.props)],
          doubles: [e.value ?? 0, e.at],
        });
      }
    },
    async writeRequests(metrics) {
      for (const m of metrics) {
        dataset.writeDataPoint({
          indexes: [REQUEST_INDEX],
          blobs: [m.method, m.route, m.userId ?? ""],
          doubles: [m.status, m.durationMs, m.at],
        });
      }
    },
  };
}

export function analyticsWriter(env: Env): AnalyticsWriter {
  return env.ANALYTICS ? analyticsEngineWriter(env.ANALYTICS) : postgresWriter(env);
}
