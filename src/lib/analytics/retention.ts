// Retention of the analytics tables in Postgres (docs/analytics.md): the hourly cron deletes events and request
// metrics older than ANALYTICS_RETENTION_DAYS, in batches, so one run never holds a long lock and a backlog (a first
// run after a long time) is worked off over several hours. Analytics Engine keeps its own data (three months).
import { sql } from "drizzle-orm";
import { db } from "../db/client";
import type { Env } from "../platform/env";

/** Rows one statement deletes; a run repeats it while it fills up, at most PRUNE_MAX_ROUNDS times per table. */
export const PRUNE_BATCH = 10_000;
export const PRUNE_MAX_ROUNDS = 20;

export interface PruneCounts {
  analyticsEvents: number;
  requestMetrics: number;
}

export async function pruneAnalytics(env: Pick<Env, "DATABASE_URL">, retentionDays: number): Promise<PruneCounts> {
  const database = db(env);
  const cutoff = new Date(Date.now() - retentionDays * 86_400_000).toISOString();
  const prune = async (statement: () => ReturnType<typeof database.execute>) => {
    let total = 0;
    for (let round = 0; round < PRUNE_MAX_ROUNDS; round++) {
      const deleted = (await statement()).rowCount ?? 0;
      total += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
    return total;
  };
  // Both tables are indexed by `at`: each batch is an index range scan.
  const analyticsEvents = await prune(() =>
    database.execute(sql`DELETE FROM analytics_events WHERE id IN (
      SELECT id FROM analytics_events WHERE at < ${cutoff} LIMIT ${PRUNE_BATCH})`),
  );
  const requestMetrics = await prune(() =>
    database.execute(sql`DELETE FROM request_metrics WHERE id IN (
      SELECT id FROM request_metrics WHERE at < ${cutoff} LIMIT ${PRUNE_BATCH})`),
  );
  return { analyticsEvents, requestMetrics };
}
