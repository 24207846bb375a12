// One token bucket per object (the object's name is the bucket's key). A Durable Object, not KV:
// taking a token must be atomic, and KV is eventually consistent.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/lib/platform/env";

export interface BucketPolicy {
  /** Tokens the bucket holds when full: the largest burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take. */
  remaining: number;
  /** Seconds until a token is available (0 when allowed). */
  retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter extends DurableObject<Env> {
  take(policy: BucketPolicy, cost = 1): TakeResult {
    const now = Date.now();
    // The synchronous storage API of SQLite-backed objects: the read-modify-write cannot interleave.
    const stored = this.ctx.storage.kv.get<Bucket>("bucket");
    const elapsed = stored ? Math.max(0, now - stored.updatedAt) / 1000 : 0;
    const tokens = Math.min(policy.capacity, (stored?.tokens ?? policy.capacity) + elapsed * policy.refillPerSecond);
    const allowed = tokens >= cost;
    const left = allowed ? tokens - cost : tokens;
    this.ctx.storage.kv.put<Bucket>("bucket", { tokens: left, updatedAt: now });
    return {
      allowed,
      remaining: Math.floor(left),
      retryAfterSeconds: allowed ? 0 : Math.ceil((cost - left) / policy.refillPerSecond),
      resetSeconds: Math.ceil((policy.capacity - left) / policy.refillPerSecond),
    };
  }
}
