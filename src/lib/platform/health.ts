// Readiness of every binding the suite depends on, each measured and bounded by a timeout.
import { db } from "../db/client";
import { instance } from "../db/schema";
import { upstreamHealthSummary } from "../gateway/services";
import type { Config, Env } from "./env";
import { withTimeout } from "./timeout";

type CheckStatus = "ok" | "fail";

interface CheckResult {
  status: CheckStatus;
  required: boolean;
  latencyMs: number;
  detail?: Record<string, unknown>;
  error?: string;
}

export interface HealthReport {
  status: "ok" | "degraded" | "down";
  timestamp: string;
  /** Legacy gateway shape: each dependency and upstream as a boolean (null: an upstream not checked yet). */
  services: Record<string, boolean | null>;
  checks: Record<string, CheckResult>;
}

interface Check {
  name: string;
  required: boolean;
  run(env: Env): Promise<Record<string, unknown> | undefined>;
}

const PROBE_KEY = "__tessera_health__";

/** The checks, in one table: a concern that needs a dependency checked adds its entry here (upstreams are not required). */
const CHECKS: Check[] = [
  {
    name: "database",
    required: true,
    async run(env) {
      const [row] = await db(env).select({ id: instance.id, createdAt: instance.createdAt }).from(instance).limit(1);
      return { instanceId: row?.id ?? null, since: row?.createdAt.toISOString() ?? null };
    },
  },
  {
    name: "kv",
    required: true,
    async run(env) {
      await env.MEMORY.get(PROBE_KEY);
      return undefined;
    },
  },
  {
    name: "r2",
    required: true,
    async run(env) {
      await env.FILES.head(PROBE_KEY);
      return undefined;
    },
  },
  {
    name: "durableObject",
    required: true,
    async run(env) {
      const { sqlite } = await env.JOB_BOARD.get(env.JOB_BOARD.idFromName("health")).ping();
      return { sqlite };
    },
  },
  {
    name: "queue",
    required: true,
    async run(env) {
      await env.GPU_JOBS.send({ kind: "health.ping", sentAt: Date.now() });
      return undefined;
    },
  },
];

/** The innermost message: drivers wrap the useful part ("connection refused") in their own. */
function rootCause(err: unknown): string {
  let current = err;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

async function runCheck(check: Check, env: Env, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    const detail = await withTimeout(check.run(env), timeoutMs, () => new Error(`timed out after ${timeoutMs} ms`));
    return {
      status: "ok",
      required: check.required,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      ...(detail ? { detail } : {}),
    };
  } catch (err) {
    return {
      status: "fail",
      required: check.required,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      error: rootCause(err),
    };
  }
}

async function runHealthChecks(env: Env, config: Config, checks: Check[] = CHECKS): Promise<HealthReport> {
  const results = await Promise.all(checks.map((check) => runCheck(check, env, config.healthTimeoutMs)));
  const checksByName: Record<string, CheckResult> = {};
  const services: Record<string, boolean> = {};
  checks.forEach((check, i) => {
    const result = results[i] as CheckResult;
    checksByName[check.name] = result;
    services[check.name] = result.status === "ok";
  });
  // Upstreams come from the health cron's stored report; /health never calls them itself.
  const upstreams = await upstreamHealthSummary(env);
  Object.assign(services, upstreams);
  const requiredFailed = results.some((r) => r.required && r.status === "fail");
  const anyFailed = results.some((r) => r.status === "fail") || Object.values(upstreams).includes(false);
  return {
    status: requiredFailed ? "down" : anyFailed ? "degraded" : "ok",
    timestamp: new Date().toISOString(),
    services,
    checks: checksByName,
  };
}

/**
 * The last report, per isolate. Only settled values are shared between requests:
 * workerd forbids awaiting another request's I/O, so concurrent misses each run the checks.
 */
let cached: { report: HealthReport; at: number } | undefined;

/** The cached report while it is fresh (synchronously: the route then answers without a deadline timer). */
export function healthReport(env: Env, config: Config): HealthReport | Promise<HealthReport> {
  const now = Date.now();
  if (cached && config.healthCacheSeconds > 0 && now - cached.at < config.healthCacheSeconds * 1000)
    return cached.report;
  return runHealthChecks(env, config).then((report) => {
    cached = { report, at: Date.now() };
    return report;
  });
}
