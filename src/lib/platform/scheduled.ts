// The cron triggers in wrangler.toml, by schedule. Every minute: the upstreams' health, so requests never wait on a
// health call. Hourly: housekeeping, and the analytics tables pruned to ANALYTICS_RETENTION_DAYS.

import { pruneAnalytics } from "../analytics/retention";
import { purgeExpired } from "../db/housekeeping";
import { checkAllUpstreams } from "../gateway/services";
import { type Env, getConfig } from "./env";
import { createLogger } from "./log";

export const HOURLY = "17 * * * *";

export async function runCron(cron: string, env: Env): Promise<void> {
  if (cron === HOURLY) {
    const config = getConfig(env);
    const purged = await purgeExpired(env);
    const pruned = await pruneAnalytics(env, config.analytics.retentionDays);
    createLogger(config.logLevel, { cron }).info("housekeeping", { ...purged, ...pruned });
    return;
  }
  // The minute cron, and any schedule added to wrangler.toml without a case here (also `--test-scheduled`'s
  // default trigger in development).
  await checkAllUpstreams(env);
}
