// The hourly cron prunes analytics events and request metrics older than ANALYTICS_RETENTION_DAYS (90 by default)
// and keeps everything younger; the summary no longer counts what was pruned.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { pruneAnalytics } from "../../src/lib/analytics/retention";
import { db } from "../../src/lib/db/client";
import { getConfig } from "../../src/lib/platform/env";
import { HOURLY } from "../../src/lib/platform/scheduled";

async function runCron(cron: string) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

const count = async (query: ReturnType<typeof sql>) =>
  Number(((await db(env).execute(query)).rows[0] as { n: string | number }).n);

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

async function seed(tag: string, ageDays: number, n: number) {
  for (let i = 0; i < n; i++) {
    await db(env).execute(sql`INSERT INTO analytics_events (id, at, name, user_id, value, props)
      VALUES (${`${tag}-${ageDays}-${i}`}, ${daysAgo(ageDays)}, ${tag}, null, 1, '{}'::jsonb)`);
    await db(env).execute(sql`INSERT INTO request_metrics (at, method, route, status, duration_ms, user_id)
      VALUES (${daysAgo(ageDays)}, 'GET', ${`/${tag}`}, 200, 1, null)`);
  }
}

describe("analytics retention", () => {
  it("is 90 days unless ANALYTICS_RETENTION_DAYS says otherwise", () => {
    expect(getConfig(env).analytics.retentionDays).toBe(90);
    expect(() => getConfig({ ...env, ANALYTICS_RETENTION_DAYS: "0" } as typeof env)).toThrow(
      /ANALYTICS_RETENTION_DAYS/,
    );
  });

  it("the hourly cron deletes events and metrics past the retention and keeps younger ones", async () => {
    const tag = `ret${Date.now().toString(36)}`;
    await seed(tag, 91, 3);
    await seed(tag, 89, 2);
    await runCron("*/1 * * * *");
    expect(await count(sql`SELECT count(*) AS n FROM analytics_events WHERE name = ${tag}`)).toBe(5);
    await runCron(HOURLY);
    expect(await count(sql`SELECT count(*) AS n FROM analytics_events WHERE name = ${tag}`)).toBe(2);
    expect(await count(sql`SELECT count(*) AS n FROM request_metrics WHERE route = ${`/${tag}`}`)).toBe(2);
    expect(
      await count(sql`SELECT count(*) AS n FROM analytics_events WHERE name = ${tag} AND at < ${daysAgo(90)}`),
    ).toBe(0);
  });

  it("a shorter retention prunes more, and reports what it deleted", async () => {
    const tag = `ret2${Date.now().toString(36)}`;
    await seed(tag, 10, 2);
    await seed(tag, 1, 1);
    const pruned = await pruneAnalytics(env, 5);
    expect(pruned.analyticsEvents).toBeGreaterThanOrEqual(2);
    expect(pruned.requestMetrics).toBeGreaterThanOrEqual(2);
    expect(await count(sql`SELECT count(*) AS n FROM analytics_events WHERE name = ${tag}`)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM request_metrics WHERE route = ${`/${tag}`}`)).toBe(1);
  });
});
