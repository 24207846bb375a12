// What the gateway knows of each prefix, without calling any upstream: the route table, the stored
// health report, and this isolate's breakers.
import { type Env, getConfig } from "../platform/env";
import { breakerFor } from "./breaker";
import { upstreamsOf } from "./route-table";
import { routeTable } from "./routing";
import { checkUpstreams, storedUpstreamHealth, type UpstreamHealth } from "./upstream-health";

interface ServiceView {
  prefix: string;
  kind: "local" | "upstream" | "split" | "unconfigured";
  name: string | null;
  upstream: string | null;
  /** Percent of callers sent upstream (100 for a plain proxy, 0 for local). */
  upstreamPercent: number;
  health: (UpstreamHealth & { checkedAt: string }) | null;
  breaker: ReturnType<ReturnType<typeof breakerFor>["snapshot"]> | null;
}

export async function describeServices(env: Env): Promise<ServiceView[]> {
  const report = await storedUpstreamHealth(env);
  return routeTable(env).map(({ prefix, target }) => {
    if (target.kind === "local" || target.kind === "unconfigured") {
      return {
        prefix,
        kind: target.kind,
        name: target.kind === "unconfigured" ? target.name : null,
        upstream: null,
        upstreamPercent: 0,
        health: null,
        breaker: null,
      };
    }
    const health = report?.upstreams[target.upstream.name];
    return {
      prefix,
      kind: target.kind,
      name: target.upstream.name,
      upstream: target.upstream.url,
      upstreamPercent: target.kind === "split" ? target.percent : 100,
      health: health && report ? { ...health, checkedAt: report.checkedAt } : null,
      breaker: breakerFor(target.upstream.name, getConfig(env).gatewayBreaker).snapshot(),
    };
  });
}

/** Each upstream's stored health for /health: true, false, or null while no fresh check exists. */
export async function upstreamHealthSummary(env: Env): Promise<Record<string, boolean | null>> {
  const report = await storedUpstreamHealth(env);
  return Object.fromEntries(
    upstreamsOf(routeTable(env)).map((u) => [u.name, report?.upstreams[u.name]?.healthy ?? null]),
  );
}

/** The cron trigger's job: check every upstream in the table, concurrently, and store the report. */
export async function checkAllUpstreams(env: Env): Promise<void> {
  const upstreams = upstreamsOf(routeTable(env));
  if (upstreams.length > 0) await checkUpstreams(env, upstreams, getConfig(env).healthTimeoutMs);
}
