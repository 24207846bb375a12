// The router (docs/llm.md "Routing"): an alias's targets in order (or in a weighted random order), each behind
// its breaker; transient failures retried on the same target within bounds (honouring Retry-After, else a
// jittered backoff), then the next target; the first success wins. Used for whole answers and for a stream up to
// its first chunk: nothing is retried once a byte has gone to the client.
import { type Env, getConfig } from "../platform/env";
import { ApiError } from "../platform/errors";
import { createLogger, type Logger } from "../platform/log";
import type { WaitUntil } from "./complete";
import type { AliasConfig, RoutesConfig, TargetConfig } from "./config";
import { providerFor } from "./providers";
import { type LlmProvider, ProviderError } from "./providers/types";
import { publishChange, type StateChange, type TargetHandle, target } from "./targets";

const BACKOFF_BASE_MS = 100;

/** The LLM code's logger outside a request context (waitUntil work, in-process callers). */
export function llmLog(env: Env): Logger {
  return createLogger(getConfig(env).logLevel, { component: "llm" });
}
const BACKOFF_MAX_MS = 2000;

/** Targets in the order to try: as listed, or drawn by weight without replacement. */
function orderTargets(alias: AliasConfig, random = Math.random): TargetConfig[] {
  if (alias.strategy === "ordered") return alias.targets;
  const pool = alias.targets.filter((t) => t.weight > 0);
  const order: TargetConfig[] = [];
  while (pool.length) {
    const total = pool.reduce((n, t) => n + t.weight, 0);
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i]?.weight ?? 0;
      if (r < 0) break;
    }
    order.push(...pool.splice(i, 1));
  }
  return order;
}

/** Full jitter: a random wait up to the exponential step, so retries from many requests do not line up. */
function backoffMs(attempt: number, random = Math.random): number {
  return Math.round(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export interface Served<T> {
  value: T;
  target: TargetConfig;
  handle: TargetHandle;
  /** Time from the attempt that succeeded to its answer (or first chunk). */
  latencyMs: number;
  attempts: number;
}

export interface RouteContext {
  env: Env;
  ctx: WaitUntil;
  routes: RoutesConfig;
  signal: AbortSignal;
}

function report(rc: RouteContext, change: StateChange | undefined): void {
  if (!change) return;
  rc.ctx.waitUntil(
    publishChange(rc.env, change).catch((err: unknown) =>
      llmLog(rc.env).warn("llm breaker event not published", { error: String(err) }),
    ),
  );
}

/**
 * Runs `call` against the alias's targets until one succeeds. `call` resolves once the target has committed to an
 * answer (a whole completion, or a stream's first chunk); its ProviderErrors decide retry and fallback.
 */
export async function route<T>(
  rc: RouteContext,
  alias: AliasConfig,
  call: (provider: LlmProvider, target: TargetConfig, signal: AbortSignal) => Promise<T>,
): Promise<Served<T>> {
  const { routes } = rc;
  const errors: ProviderError[] = [];
  let breakerWaitS: number | undefined;
  let attempts = 0;
  for (const t of orderTargets(alias)) {
    const handle = target(t.provider, t.model, routes.breaker);
    for (let tryNo = 0; tryNo <= routes.retriesPerTarget && attempts < routes.maxAttempts; tryNo++) {
      if (!handle.allow()) {
        const wait = handle.retryAfterSeconds();
        breakerWaitS = breakerWaitS === undefined ? wait : Math.min(breakerWaitS, wait);
        break;
      }
      attempts++;
      const started = performance.now();
      try {
        const provider = providerFor(rc.env, routes, t.provider);
        const value = await call(provider, t, rc.signal);
        const latencyMs = performance.now() - started;
        report(rc, handle.succeeded(latencyMs));
        return { value, target: t, handle, latencyMs, attempts };
      } catch (err) {
        if (rc.signal.aborted) throw err;
        const failure =
          err instanceof ProviderError ? err : new ProviderError("server", `provider '${t.provider}' failed`);
        if (!(err instanceof ProviderError)) {
          llmLog(rc.env).warn("llm provider threw", { target: handle.id, error: String(err) });
        }
        errors.push(failure);
        report(rc, handle.failed(failure.message, failure.tripsBreaker));
        const retryAfter = failure.options.retryAfterMs;
        const canRetry =
          failure.transient &&
          tryNo < routes.retriesPerTarget &&
          attempts < routes.maxAttempts &&
          (retryAfter === undefined || retryAfter <= routes.maxRetryAfterMs);
        if (!canRetry) break;
        await sleep(retryAfter ?? backoffMs(tryNo), rc.signal);
      }
    }
    if (attempts >= routes.maxAttempts) break;
  }
  throw exhausted(errors, breakerWaitS);
}

/** The error for a request no target could serve, in the client's terms. */
function exhausted(errors: ProviderError[], breakerWaitS: number | undefined): ApiError {
  const last = errors.at(-1);
  if (!last) {
    return new ApiError("unavailable", "Every target of this model is unavailable (circuit open); try again later", {
      headers: { "Retry-After": String(breakerWaitS ?? 1) },
    });
  }
  const retryAfterS = Math.max(
    1,
    Math.ceil(Math.max(0, ...errors.map((e) => e.options.retryAfterMs ?? 0)) / 1000),
    breakerWaitS ?? 0,
  );
  const detail = errors.map((e) => e.message).join("; ");
  if (errors.every((e) => e.kind === "context_length")) {
    return new ApiError("invalid_request", `The request exceeds every target's context length (${detail})`, {
      issues: [{ path: ["body", "messages"], code: "context_length_exceeded", message: "context length exceeded" }],
    });
  }
  if (errors.every((e) => e.kind === "rate_limited")) {
    return new ApiError("rate_limited", `Every target is rate limited (${detail})`, {
      headers: { "Retry-After": String(retryAfterS) },
    });
  }
  if (errors.every((e) => e.kind === "client")) {
    return new ApiError("upstream_error", `Every target refused the request (${detail})`);
  }
  return new ApiError("unavailable", `No target could answer (${detail})`, {
    headers: { "Retry-After": String(retryAfterS) },
  });
}
