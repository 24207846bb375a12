// A circuit breaker and a recent error rate per upstream, per isolate. Per isolate on purpose: asking a
// Durable Object on every proxied request would add a round trip to the hot path; each isolate learns of
// a dead upstream after a few failures of its own, and the health cron tells them all within a minute.

type BreakerState = "closed" | "open" | "half-open";

interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before one probe is let through. */
  openMs: number;
}

/** Outcomes kept for the error rate: the last minute, in 6 buckets of 10 s. */
const WINDOW_BUCKETS = 6;
const BUCKET_MS = 10_000;

interface Bucket {
  start: number;
  requests: number;
  errors: number;
}

export class CircuitBreaker {
  private state: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private buckets: Bucket[] = [];

  constructor(private readonly policy: BreakerPolicy) {}

  /** Whether a request may go to the upstream now. In half-open, exactly one probe at a time. */
  allow(now = Date.now()): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && now - this.openedAt >= this.policy.openMs) {
      this.state = "half-open";
      this.probing = false;
    }
    if (this.state === "half-open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** Seconds until the next probe may go, for Retry-After. */
  retryAfterSeconds(now = Date.now()): number {
    return Math.max(1, Math.ceil((this.policy.openMs - (now - this.openedAt)) / 1000));
  }

  success(now = Date.now()): void {
    this.count(now, false);
    this.failures = 0;
    this.state = "closed";
    this.probing = false;
  }

  /** A connection failure, a timeout or a gateway error from the upstream. */
  failure(now = Date.now()): void {
    this.count(now, true);
    this.failures++;
    if (this.state === "half-open" || this.failures >= this.policy.failures) {
      this.state = "open";
      this.openedAt = now;
      this.probing = false;
    }
  }

  /** An answer that is an error but says the upstream is alive (a 500): counted, but does not trip. */
  served(now = Date.now(), isError = false): void {
    this.count(now, isError);
    this.failures = 0;
    if (this.state !== "closed") {
      this.state = "closed";
      this.probing = false;
    }
  }

  /** The health cron saw the upstream down: stop sending to it, and probe again after the open period. */
  markDown(now = Date.now()): void {
    if (this.state === "open") return;
    this.state = "open";
    this.openedAt = now;
    this.probing = false;
  }

  /** The health cron saw the upstream healthy: a closed door need not wait out its timer. */
  healthy(): void {
    if (this.state === "open") this.state = "half-open";
  }

  snapshot(now = Date.now()): {
    state: BreakerState;
    consecutiveFailures: number;
    requests: number;
    errorRate: number;
  } {
    if (this.state === "open" && now - this.openedAt >= this.policy.openMs) this.state = "half-open";
    const live = this.buckets.filter((b) => now - b.start < WINDOW_BUCKETS * BUCKET_MS);
    const requests = live.reduce((n, b) => n + b.requests, 0);
    const errors = live.reduce((n, b) => n + b.errors, 0);
    return {
      state: this.state,
      consecutiveFailures: this.failures,
      requests,
      errorRate: requests ? Math.round((errors / requests) * 1000) / 1000 : 0,
    };
  }

  private count(now: number, isError: boolean): void {
    const start = now - (now % BUCKET_MS);
    let bucket = this.buckets.at(-1);
    if (!bucket || bucket.start !== start) {
      bucket = { start, requests: 0, errors: 0 };
      this.buckets.push(bucket);
      if (this.buckets.length > WINDOW_BUCKETS) this.buckets.shift();
    }
    bucket.requests++;
    if (isError) bucket.errors++;
  }
}

const breakers = new Map<string, CircuitBreaker>();

/** This isolate's breaker for an upstream (the policy is the config's, the same for every call). */
export function breakerFor(upstream: string, policy: BreakerPolicy): CircuitBreaker {
  let breaker = breakers.get(upstream);
  if (!breaker) {
    breaker = new CircuitBreaker(policy);
    breakers.set(upstream, breaker);
  }
  return breaker;
}
