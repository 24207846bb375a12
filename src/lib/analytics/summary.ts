// GET /v1/analytics/summary (docs/analytics.md): requests, error rate, p50/p95 per route, active users, jobs per type
// with latency, client events and LLM tokens per model, over [from, to) in buckets. `userId` narrows every figure
// to one user's slice; without it the summary covers everyone (admins).
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { ApiError } from "../platform/errors";
import { PLATFORM_EVENT_PREFIX, PLATFORM_EVENTS } from "./record";

export const Bucket = z.enum(["minute", "hour", "day"]);
export type Bucket = z.infer<typeof Bucket>;

const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Buckets one summary may span (400 above), and the routes it lists (busiest first). */
const SUMMARY_LIMITS = { maxBuckets: 1500, maxRoutes: 100, maxEventNames: 100 } as const;

const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100);

export const Summary = z.object({
  from: z.string(),
  to: z.string(),
  bucket: Bucket,
  scope: z.enum(["all", "user"]),
  requests: z.object({ total: z.number(), errors: z.number(), errorRate: z.number() }),
  series: z.array(z.object({ t: z.string(), requests: z.number(), errors: z.number() })),
  routes: z.array(
    z.object({
      method: z.string(),
      route: z.string(),
      requests: z.number(),
      errorRate: z.number(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
    }),
  ),
  activeUsers: z.number(),
  jobs: z.array(
    z.object({
      type: z.string(),
      completed: z.number(),
      dead: z.number(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
    }),
  ),
  events: z.array(z.object({ name: z.string(), count: z.number(), sum: z.number().nullable() })),
  llmTokens: z.array(z.object({ model: z.string(), tokens: z.number() })),
});
export type Summary = z.infer<typeof Summary>;

/** Checks the window: `from` before `to`, and not more buckets than SUMMARY_LIMITS.maxBuckets. */
function checkWindow(from: Date, to: Date, bucket: Bucket): void {
  const issue = (message: string) =>
    new ApiError("invalid_request", message, {
      issues: [{ path: ["query", "from"], code: "invalid_window", message }],
    });
  if (from.getTime() >= to.getTime()) throw issue("from must be before to");
  if ((to.getTime() - from.getTime()) / BUCKET_MS[bucket] > SUMMARY_LIMITS.maxBuckets) {
    throw issue(`At most ${SUMMARY_LIMITS.maxBuckets} buckets: widen the bucket or narrow the window`);
  }
}

export async function summarize(
  database: HttpDb,
  window: { from: Date; to: Date; bucket: Bucket },
  userId?: string,
): Promise<Summary> {
  const { from, to, bucket } = window;
  checkWindow(from, to, bucket);
  const inWindow = (table: SQL) =>
    userId === undefined
      ? sql`${table}.at >= ${from.toISOString()} AND ${table}.at < ${to.toISOString()}`
      : sql`${table}.at >= ${from.toISOString()} AND ${table}.at < ${to.toISOString()} AND ${table}.user_id = ${userId}`;
  const rm = inWindow(sql`request_metrics`);
  const ev = inWindow(sql`analytics_events`);
  const [series, routes, active, jobs, events, llm] = await database.batch([
    database.execute<{ t: string; requests: string; errors: string }>(sql`
      SELECT date_trunc(${bucket}, at) AS t, count(*) AS requests, count(*) FILTER (WHERE status >= 500) AS errors
      FROM request_metrics WHERE ${rm} GROUP BY 1 ORDER BY 1`),
    database.execute<{ method: string; route: string; requests: string; errors: string; p50: number; p95: number }>(sql`
      SELECT method, route, count(*) AS requests, count(*) FILTER (WHERE status >= 500) AS errors,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
      FROM request_metrics WHERE ${rm} GROUP BY method, route ORDER BY count(*) DESC, route
      LIMIT ${SUMMARY_LIMITS.maxRoutes}`),
    database.execute<{ users: string }>(sql`
      SELECT count(DISTINCT user_id) AS users FROM (
        SELECT user_id FROM request_metrics WHERE ${rm} AND user_id IS NOT NULL
        UNION SELECT user_id FROM analytics_events WHERE ${ev} AND user_id IS NOT NULL) AS u`),
    database.execute<{ type: string; completed: string; dead: string; p50: number | null; p95: number | null }>(sql`
      SELECT props->>'type' AS type,
        count(*) FILTER (WHERE name = ${PLATFORM_EVENTS.jobCompleted}) AS completed,
        count(*) FILTER (WHERE name = ${PLATFORM_EVENTS.jobDead}) AS dead,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE name = ${PLATFORM_EVENTS.jobCompleted}) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY value) FILTER (WHERE name = ${PLATFORM_EVENTS.jobCompleted}) AS p95
      FROM analytics_events WHERE ${ev} AND name IN (${PLATFORM_EVENTS.jobCompleted}, ${PLATFORM_EVENTS.jobDead})
      GROUP BY 1 ORDER BY 1`),
    database.execute<{ name: string; count: string; sum: number | null }>(sql`
      SELECT name, count(*) AS count, sum(value) AS sum FROM analytics_events
      WHERE ${ev} AND name NOT LIKE ${`${PLATFORM_EVENT_PREFIX}%`}
      GROUP BY name ORDER BY count(*) DESC, name LIMIT ${SUMMARY_LIMITS.maxEventNames}`),
    // The LLM router's seam: it records PLATFORM_EVENTS.llmUsage with value = tokens and props.model.
    database.execute<{ model: string; tokens: number }>(sql`
      SELECT props->>'model' AS model, sum(value) AS tokens FROM analytics_events
      WHERE ${ev} AND name = ${PLATFORM_EVENTS.llmUsage} GROUP BY 1 ORDER BY 2 DESC`),
  ]);
  const total = series.rows.reduce((n, r) => n + Number(r.requests), 0);
  const errors = series.rows.reduce((n, r) => n + Number(r.errors), 0);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    bucket,
    scope: userId === undefined ? "all" : "user",
    requests: { total, errors, errorRate: total === 0 ? 0 : errors / total },
    series: series.rows.map((r) => ({
      t: new Date(r.t).toISOString(),
      requests: Number(r.requests),
      errors: Number(r.errors),
    })),
    routes: routes.rows.map((r) => ({
      method: r.method,
      route: r.route,
      requests: Number(r.requests),
      errorRate: Number(r.errors) / Number(r.requests),
      p50Ms: round(r.p50),
      p95Ms: round(r.p95),
    })),
    activeUsers: Number(active.rows[0]?.users ?? 0),
    jobs: jobs.rows.map((r) => ({
      type: r.type ?? "unknown",
      completed: Number(r.completed),
      dead: Number(r.dead),
      p50Ms: round(r.p50),
      p95Ms: round(r.p95),
    })),
    events: events.rows.map((r) => ({
      name: r.name,
      count: Number(r.count),
      sum: r.sum === null ? null : Number(r.sum),
    })),
    llmTokens: llm.rows.map((r) => ({ model: r.model ?? "unknown", tokens: Number(r.tokens) })),
  };
}
