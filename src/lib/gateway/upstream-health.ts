// Upstream health, checked by the cron trigger (concurrently, each with a timeout) and stored in KV;
// requests read the stored report (cached per isolate) and never call an upstream to learn its health.
import { type Env, getConfig } from "../platform/env";
import { breakerFor } from "./breaker";
import type { Upstream } from "./route-table";

export interface UpstreamHealth {
  healthy: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

interface UpstreamHealthReport {
  checkedAt: string;
  upstreams: Record<string, UpstreamHealth>;
}

const KEY = "__gateway__:upstream-health";
/** How long an isolate reuses the stored report before reading KV again. */
const READ_CACHE_MS = 10_000;
/** A report older than this says nothing: the cron has stopped, so fall back to "unknown" (usable). */
const STALE_AFTER_MS = 5 * 60_000;

async function checkOne(upstream: Upstream, timeoutMs: number): Promise<UpstreamHealth> {
  const started = Date.now();
  try {
    const res = await fetch(`${upstream.url}${upstream.healthPath}`, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { "User-Agent": "tessera-gateway-health" },
    });
    await res.body?.cancel();
    return { healthy: res.ok, status: res.status, latencyMs: Date.now() - started };
  } catch (err) {
    return {
      healthy: false,
      latencyMs: Date.now() - started,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** Checks every upstream at once; the slowest bounds the total, never the sum. */
export async function checkUpstreams(
  env: Env,
  upstreams: Upstream[],
  timeoutMs: number,
): Promise<UpstreamHealthReport> {
  const results = await Promise.all(upstreams.map((u) => checkOne(u, timeoutMs)));
  const report: UpstreamHealthReport = {
    checkedAt: new Date().toISOString(),
    upstreams: Object.fromEntries(upstreams.map((u, i) => [u.name, results[i] as UpstreamHealth])),
  };
  await env.MEMORY.put(KEY, JSON.stringify(report));
  cached = { report, readAt: Date.now() };
  applyToBreakers(env, report);
  return report;
}

let cached: { report: UpstreamHealthReport | null; readAt: number } | undefined;

function applyToBreakers(env: Env, report: UpstreamHealthReport): void {
  for (const [name, health] of Object.entries(report.upstreams)) {
    const breaker = breakerFor(name, getConfig(env).gatewayBreaker);
    if (health.healthy) breaker.healthy();
    else breaker.markDown();
  }
}

/** The last stored report, or null when none is fresh (then every upstream counts as usable). */
export async function storedUpstreamHealth(env: Env): Promise<UpstreamHealthReport | null> {
  const now = Date.now();
  if (!cached || now - cached.readAt > READ_CACHE_MS) {
    const report = await env.MEMORY.get<UpstreamHealthReport>(KEY, "json");
    const fresh = report && now - Date.parse(report.checkedAt) < STALE_AFTER_MS ? report : null;
    const changed = fresh?.checkedAt !== cached?.report?.checkedAt;
    cached = { report: fresh, readAt: now };
    if (fresh && changed) applyToBreakers(env, fresh);
  }
  return cached.report;
}
