// The one analytics reader (docs/analytics.md): the summary from Postgres (local, self-hosted; what the tests use) or
// from Workers Analytics Engine's SQL API (production, ANALYTICS_READER=analytics-engine), behind one interface, as
// analyticsWriter is for writing.
import { db } from "../db/client";
import { type Env, getConfig } from "../platform/env";
import { ApiError } from "../platform/errors";
import { summarizeFromEngine } from "./engine-reader";
import { type Bucket, type Summary, summarize } from "./summary";

export interface AnalyticsReader {
  summary(window: { from: Date; to: Date; bucket: Bucket }, userId?: string): Promise<Summary>;
}

const sqlApi = (accountId: string) => `https://api.cloudflare.com/client/v4/accounts/${accountId}/analytics_engine/sql`;

export function analyticsReader(env: Env): AnalyticsReader {
  const config = getConfig(env);
  if (config.analytics.reader === "postgres") {
    return { summary: (window, userId) => summarize(db(env), window, userId) };
  }
  const { accountId, dataset, sqlUrl } = config.analyticsEngine;
  const apiToken = env.ANALYTICS_ENGINE_API_TOKEN;
  return {
    summary(window, userId) {
      // A deployment mistake, not the caller's: the same 503 as any other unconfigured dependency.
      if (!apiToken || (!accountId && !sqlUrl)) {
        throw new ApiError("unavailable", "The analytics store is not configured", {
          headers: { "Retry-After": "60" },
        });
      }
      return summarizeFromEngine({ sqlUrl: sqlUrl || sqlApi(accountId), apiToken, dataset }, window, userId);
    },
  };
}
