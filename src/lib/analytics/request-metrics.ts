// Tessera's own request metrics (docs/analytics.md): each request adds one small record to a per-isolate buffer;
// the buffer is written through the analytics writer after a response (waitUntil), at most once per
// METRICS_FLUSH_MS or when it holds MAX_BUFFERED records. The request itself never waits for the write.
import type { MiddlewareHandler } from "hono";
import { type AppEnv, type Env, getConfig } from "../platform/env";
import { createLogger } from "../platform/log";
import { analyticsWriter, type RequestMetric } from "./writer";

/** A full buffer is written at once, whatever the time: bounds an isolate's memory under load. */
const MAX_BUFFERED = 500;

let buffer: RequestMetric[] = [];
let lastFlush = 0;

/** The records gathered so far, handed over and forgotten (the next request starts a new buffer). */
function takeBuffer(): RequestMetric[] {
  const taken = buffer;
  buffer = [];
  lastFlush = Date.now();
  return taken;
}

function write(env: Env, metrics: RequestMetric[]): Promise<void> {
  return analyticsWriter(env)
    .writeRequests(metrics)
    .catch((err: unknown) => {
      // Metrics are best effort: a database outage costs these records, never a request.
      createLogger("warn").warn("request metrics dropped", {
        count: metrics.length,
        error: err instanceof Error ? err.message : String(err),
      });
    });
}

/** The middleware: first in the chain, so its duration covers everything after it. */
export function requestMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = getConfig(c.env);
    if (!config.requestMetrics) return next();
    const started = performance.now();
    await next();
    buffer.push({
      at: Date.now(),
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: performance.now() - started,
      userId: c.get("principal")?.sub ?? c.get("service")?.id ?? null,
    });
    if (buffer.length < MAX_BUFFERED && Date.now() - lastFlush < config.metricsFlushMs) return;
    let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
    try {
      const ctx = c.executionCtx;
      waitUntil = (promise) => ctx.waitUntil(promise);
    } catch {
      return; // no execution context (a unit call): leave the records for the next request
    }
    waitUntil(write(c.env, takeBuffer()));
  };
}
