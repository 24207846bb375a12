// The one analytics writer (docs/analytics.md): Workers Analytics Engine where the ANALYTICS binding exists
// (production), Postgres otherwise. Callers never know which.
import { db } from "../db/client";
import { analyticsEvents, requestMetrics } from "../db/schema";
import type { Env } from "../platform/env";
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

export interface AnalyticsWriter {
  writeEvents(events: StoredEvent[]): Promise<void>;
  writeRequests(metrics: RequestMetric[]): Promise<void>;
}

/** Rows per INSERT: well under Postgres's 65,535 bind parameters at 7 columns. */
const CHUNK = 1000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function postgresWriter(env: Env): AnalyticsWriter {
  return {
    async writeEvents(events) {
      for (const part of chunks(events)) {
        await db(env)
          .insert(analyticsEvents)
          .values(part.map((e) => ({ ...e, at: new Date(e.at) })))
          .onConflictDoNothing();
      }
    },
    async writeRequests(metrics) {
      for (const part of chunks(metrics)) {
        await db(env)
          .insert(requestMetrics)
          .values(part.map((m) => ({ ...m, at: new Date(m.at) })));
      }
    },
  };
}

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
          blobs: [e.name, e.userId ?? "", e.credentialId ?? "", JSON.stringify(e.props), e.id],
          doubles: [e.value ?? 0, e.at],
        });
      }
    },
    async writeRequests(metrics) {
      for (const m of metrics) {
        dataset.writeDataPoint({
          indexes: ["request"],
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
