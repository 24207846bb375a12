// The cron triggers in wrangler.toml, by schedule. Every minute: the upstreams' health, so requests never wait on a
// health call. Hourly: housekeeping.

import { purgeExpired } from "../db/housekeeping";
import { checkAllUpstreams } from "../gateway/services";
import { type Env, getConfig } from "./env";
import { createLogger } from "./log";

export const HOURLY = "17 * * * *";

export async function runCron(cron: string, env: Env): Promise<void> {
  if (cron === HOURLY) {
    const purged = await purgeExpired(env);
    createLogger(getConfig(env).logLevel, { cron }).info("housekeeping", { ...purged });
    return;
  }
  // The minute cron, and any schedule added to wrangler.toml without a case here (also `--test-scheduled`'s
  // default trigger in development).
  await checkAllUpstreams(env);
}
