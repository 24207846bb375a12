// Each target's health as data (docs/llm.md "Breakers"): a circuit breaker, recent latencies and the last error,
// per isolate like the gateway's breakers (a Durable Object round trip on every call would cost more than it
// saves; each isolate learns of a failing target after a few failures of its own). State changes are published
// on the hub to the admins' room.
import { CircuitBreaker } from "../gateway/breaker";
import { roomStub } from "../hub/rooms";
import type { Env } from "../platform/env";
import type { RoutesConfig } from "./config";

/** The hub room where admins hear of breaker changes (admins may open every members-only room). */
type BreakerState = ReturnType<CircuitBreaker["snapshot"]>["state"];

export const LLM_ADMIN_ROOM = "admin:llm";
const LATENCY_SAMPLES = 200;

interface TargetSnapshot {
  target: string;
  provider: string;
  model: string;
  state: BreakerState;
  consecutiveFailures: number;
  requests: number;
  failures: number;
  latencyMs: { p50: number | null; p95: number | null };
  lastError: { message: string; at: string } | null;
}

class TargetStats {
  readonly breaker: CircuitBreaker;
  private latencies: number[] = [];
  requests = 0;
  failures = 0;
  lastError: { message: string; at: string } | null = null;

  constructor(
    readonly provider: string,
    readonly model: string,
    policy: RoutesConfig["breaker"],
  ) {
    this.breaker = new CircuitBreaker({ failures: policy.failures, openMs: policy.openMs });
  }

  latency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
  }

  percentile(p: number): number | null {
    if (!this.latencies.length) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
  }
}

const stats = new Map<string, TargetStats>();

function targetId(provider: string, model: string): string {
  return `${provider}/${model}`;
}

function statsFor(provider: string, model: string, policy: RoutesConfig["breaker"]): TargetStats {
  const id = targetId(provider, model);
  let s = stats.get(id);
  if (!s) {
    s = new TargetStats(provider, model, policy);
    stats.set(id, s);
  }
  return s;
}

export type StateChange = { target: string; from: BreakerState; to: BreakerState; error?: string };

/** What the router reports about one attempt; returns the breaker change it caused, if any. */
export class TargetHandle {
  constructor(private readonly s: TargetStats) {}

  get id(): string {
    return targetId(this.s.provider, this.s.model);
  }

  /** Whether the breaker lets a call through now (a half-open breaker lets exactly one). */
  allow(): boolean {
    return this.s.breaker.allow();
  }

  retryAfterSeconds(): number {
    return this.s.breaker.retryAfterSeconds();
  }

  succeeded(latencyMs: number): StateChange | undefined {
    const before = this.s.breaker.snapshot().state;
    this.s.requests++;
    this.s.latency(latencyMs);
    this.s.breaker.success();
    return this.change(before);
  }

  /** A failure that says the target is unwell (trip = true) or one about the request only (counted, no trip). */
  failed(message: string, trip: boolean): StateChange | undefined {
    const before = this.s.breaker.snapshot().state;
    this.s.requests++;
    this.s.failures++;
    this.s.lastError = { message, at: new Date().toISOString() };
    if (trip) this.s.breaker.failure();
    else this.s.breaker.served(Date.now(), true);
    return this.change(before, message);
  }

  private change(before: BreakerState, error?: string): StateChange | undefined {
    const after = this.s.breaker.snapshot().state;
    if (after === before) return undefined;
    return { target: this.id, from: before, to: after, ...(error ? { error } : {}) };
  }
}

export function target(provider: string, model: string, policy: RoutesConfig["breaker"]): TargetHandle {
  return new TargetHandle(statsFor(provider, model, policy));
}

/** Every target this isolate has called, plus the configured ones it has not (closed, no data). */
export function snapshots(routes: RoutesConfig): TargetSnapshot[] {
  for (const alias of Object.values(routes.aliases)) {
    for (const t of alias.targets) statsFor(t.provider, t.model, routes.breaker);
  }
  return [...stats.entries()].map(([id, s]) => {
    const b = s.breaker.snapshot();
    return {
      target: id,
      provider: s.provider,
      model: s.model,
      state: b.state,
      consecutiveFailures: b.consecutiveFailures,
      requests: s.requests,
      failures: s.failures,
      latencyMs: { p50: s.percentile(50), p95: s.percentile(95) },
      lastError: s.lastError,
    };
  });
}

/** Tells the admins' hub room; a publish failure is logged by the caller, never fails the completion. */
export async function publishChange(env: Env, change: StateChange): Promise<void> {
  const room = roomStub(env, LLM_ADMIN_ROOM);
  // The room is made on first use; create() refuses (conflict) when it exists, which is the usual case.
  await room.create("system");
  await room.publish({ data: { event: "llm.breaker", ...change } });
}
