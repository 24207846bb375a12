// The analytics summary from Workers Analytics Engine's SQL API (production, ANALYTICS_READER=analytics-engine):
// the same figures as the Postgres reader (summary.ts), from the data points analyticsWriter writes (docs/analytics.md
// lists the layout). Counts and sums are weighted by `_sample_interval`, since Analytics Engine samples at volume.
import { ApiError } from "../platform/errors";
import { PLATFORM_EVENT_PREFIX, PLATFORM_EVENTS } from "./record";
import { type Bucket, checkWindow, SUMMARY_LIMITS, type Summary } from "./summary";

/** The data point index of a request metric: a client event's name may not start with "tessera.". */
export const REQUEST_INDEX = "tessera.request";
/** How far an event's own time may precede its write (POST /v1/events accepts 7 days back), plus a margin. */
const EVENT_LAG_MS = 8 * 86_400_000;
/** Distinct users read per source for activeUsers (a larger window counts at least this many). */
export const ACTIVE_USERS_CAP = 10_000;
const QUERY_TIMEOUT_MS = 10_000;

export interface EngineSource {
  /** The SQL API's address: https://api.cloudflare.com/client/v4/accounts/<id>/analytics_engine/sql by default. */
  sqlUrl: string;
  apiToken: string;
  dataset: string;
}

const INTERVAL: Record<Bucket, string> = { minute: "MINUTE", hour: "HOUR", day: "DAY" };

/** A literal for the SQL text: only the characters ids and names are made of, so nothing can be injected. */
function literal(value: string): string {
  if (!/^[A-Za-z0-9._:@-]*$/.test(value)) throw new ApiError("invalid_request", "Unexpected characters in a filter");
  return `'${value}'`;
}

/** "YYYY-MM-DD HH:MM:SS" in UTC, as toDateTime reads it. */
const dateTime = (ms: number) => `toDateTime('${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}')`;

type Row = Record<string, string | number | null>;
const num = (v: string | number | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
const round = (v: string | number | null | undefined) =>
  v === null || v === undefined || Number.isNaN(Number(v)) ? null : Math.round(Number(v) * 100) / 100;

async function query(source: EngineSource, text: string): Promise<Row[]> {
  let res: Response;
  try {
    res = await fetch(source.sqlUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${source.apiToken}`, "content-type": "text/plain" },
      body: `${text} FORMAT JSON`,
      signal: AbortSignal.timeout(QUERY_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new ApiError("unavailable", "The analytics store did not answer; retry shortly", {
      headers: { "Retry-After": "10" },
      cause,
    });
  }
  if (!res.ok) {
    await res.body?.cancel();
    // Its message may name the account or the query: neither goes to the client.
    throw new ApiError("unavailable", `The analytics store answered ${res.status}; retry shortly`, {
      headers: { "Retry-After": "10" },
    });
  }
  return ((await res.json()) as { data?: Row[] }).data ?? [];
}

export async function summarizeFromEngine(
  source: EngineSource,
  window: { from: Date; to: Date; bucket: Bucket },
  userId?: string,
): Promise<Summary> {
  const { from, to, bucket } = window;
  checkWindow(from, to, bucket);
  const [fromMs, toMs] = [from.getTime(), to.getTime()];
  const table = source.dataset;
  const requests = [
    `index1 = ${literal(REQUEST_INDEX)}`,
    `timestamp >= ${dateTime(fromMs)} AND timestamp < ${dateTime(toMs + 60_000)}`,
    `double3 >= ${fromMs} AND double3 < ${toMs}`,
    ...(userId === undefined ? [] : [`blob3 = ${literal(userId)}`]),
  ].join(" AND ");
  const events = [
    `index1 != ${literal(REQUEST_INDEX)}`,
    `timestamp >= ${dateTime(fromMs)} AND timestamp < ${dateTime(toMs + EVENT_LAG_MS)}`,
    `double2 >= ${fromMs} AND double2 < ${toMs}`,
    ...(userId === undefined ? [] : [`blob2 = ${literal(userId)}`]),
  ].join(" AND ");
  const jobNames = [PLATFORM_EVENTS.jobCompleted, PLATFORM_EVENTS.jobDead].map(literal).join(", ");
  const [series, routes, requestUsers, eventUsers, jobs, clientEvents, llm] = await Promise.all([
    query(
      source,
      `SELECT toStartOfInterval(timestamp, INTERVAL '1' ${INTERVAL[bucket]}) AS t, SUM(_sample_interval) AS requests,
        sumIf(_sample_interval, double1 >= 500) AS errors FROM ${table} WHERE ${requests} GROUP BY t ORDER BY t`,
    ),
    query(
      source,
      `SELECT blob1 AS method, blob2 AS route, SUM(_sample_interval) AS requests,
        sumIf(_sample_interval, double1 >= 500) AS errors,
        quantileExactWeighted(0.5)(double2, _sample_interval) AS p50,
        quantileExactWeighted(0.95)(double2, _sample_interval) AS p95
       FROM ${table} WHERE ${requests} GROUP BY method, route ORDER BY requests DESC LIMIT ${SUMMARY_LIMITS.maxRoutes}`,
    ),
    query(
      source,
      `SELECT blob3 AS user FROM ${table} WHERE ${requests} AND blob3 != '' GROUP BY user LIMIT ${ACTIVE_USERS_CAP}`,
    ),
    query(
      source,
      `SELECT blob2 AS user FROM ${table} WHERE ${events} AND blob2 != '' GROUP BY user LIMIT ${ACTIVE_USERS_CAP}`,
    ),
    query(
      source,
      `SELECT blob1 AS name, blob6 AS type, SUM(_sample_interval) AS n,
        quantileExactWeighted(0.5)(double1, _sample_interval) AS p50,
        quantileExactWeighted(0.95)(double1, _sample_interval) AS p95
       FROM ${table} WHERE ${events} AND blob1 IN (${jobNames}) GROUP BY name, type ORDER BY type`,
    ),
    query(
      source,
      `SELECT blob1 AS name, SUM(_sample_interval) AS count, SUM(double1 * _sample_interval) AS sum
       FROM ${table} WHERE ${events} AND blob1 NOT LIKE '${PLATFORM_EVENT_PREFIX}%'
       GROUP BY name ORDER BY count DESC LIMIT ${SUMMARY_LIMITS.maxEventNames}`,
    ),
    query(
      source,
      `SELECT blob6 AS model, SUM(double1 * _sample_interval) AS tokens FROM ${table}
       WHERE ${events} AND blob1 = ${literal(PLATFORM_EVENTS.llmUsage)} GROUP BY model ORDER BY tokens DESC`,
    ),
  ]);
  const total = series.reduce((n, r) => n + num(r.requests), 0);
  const errors = series.reduce((n, r) => n + num(r.errors), 0);
  const byType = new Map<string, Summary["jobs"][number]>();
  for (const r of jobs) {
    const type = String(r.type || "unknown");
    const job = byType.get(type) ?? { type, completed: 0, dead: 0, p50Ms: null, p95Ms: null };
    if (r.name === PLATFORM_EVENTS.jobCompleted) {
      job.completed = num(r.n);
      job.p50Ms = round(r.p50);
      job.p95Ms = round(r.p95);
    } else job.dead = num(r.n);
    byType.set(type, job);
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    bucket,
    scope: userId === undefined ? "all" : "user",
    requests: { total, errors, errorRate: total === 0 ? 0 : errors / total },
    // Analytics Engine answers "YYYY-MM-DD HH:MM:SS" in UTC.
    series: series.map((r) => ({
      t: new Date(`${String(r.t).replace(" ", "T")}Z`).toISOString(),
      requests: num(r.requests),
      errors: num(r.errors),
    })),
    routes: routes.map((r) => ({
      method: String(r.method),
      route: String(r.route),
      requests: num(r.requests),
      errorRate: num(r.requests) === 0 ? 0 : num(r.errors) / num(r.requests),
      p50Ms: round(r.p50),
      p95Ms: round(r.p95),
    })),
    activeUsers: new Set([...requestUsers, ...eventUsers].map((r) => String(r.user))).size,
    jobs: [...byType.values()],
    events: clientEvents.map((r) => ({ name: String(r.name), count: num(r.count), sum: round(r.sum) })),
    llmTokens: llm.map((r) => ({ model: String(r.model || "unknown"), tokens: num(r.tokens) })),
  };
}
