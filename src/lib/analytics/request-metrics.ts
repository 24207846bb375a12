// Tessera's own request metrics (docs/analytics.md): each request adds one small record to a per-isolate buffer;
// the buffer is written through the analytics writer after a response (waitUntil), at most once per
// METRICS_FLUSH_MS or when it holds MAX_BUFFERED records. The request itself never waits for the write.
import type { Context } from "hono";
import type { AppEnv, Env } from "../platform/env";
import { createLogger } from "../platform/log";
import { analyticsWriter, type RequestMetric } from "./writer";

/**
 * A full buffer is written at once, whatever the time: bounds an isolate's memory under load (about 120 bytes a
 * record as JSON, so 600 KB at most). Large, because each write has a fixed CPU cost (the driver's request and its
 * answer, hundreds of µs) that the batch shares: at 500 a busy isolate wrote every few hundred requests and that
 * fixed cost was most of what metrics added per request (docs/benchmarks.md, bench:events).
 */
export const MAX_BUFFERED = 5000;

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

/** Adds this request's record (the envelope calls it last, src/lib/platform/middleware.ts) and flushes when due. */
export function recordRequestMetric(c: Context<AppEnv>, started: number): void {
  buffer.push({
    at: Date.now(),
    method: c.req.method,
    route: c.req.routePath,
    status: c.res.status,
    durationMs: performance.now() - started,
    userId: c.get("principal")?.sub ?? c.get("service")?.id ?? null,
  });
  if (buffer.length < MAX_BUFFERED && Date.now() - lastFlush < c.get("config").metricsFlushMs) return;
  let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx;
    waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    return; // no execution context (a unit call): leave the records for the next request
  }
  waitUntil(write(c.env, takeBuffer()));
}
