// Rate limits as token buckets in the RateLimiter Durable Object, one object per key.
import type { Context } from "hono";
import type { BucketPolicy, TakeResult } from "../../durable-objects/rate-limiter";
import type { AppEnv, Env } from "./env";
import { ApiError } from "./errors";

export type { BucketPolicy };

/** The limits, in one table. Each is per key: an IP, a username, a user id. */
export const RATE_LIMITS = {
  /** Login attempts from one address: a burst of 10, then one every 6 s. */
  loginPerIp: { capacity: 10, refillPerSecond: 1 / 6 },
  /** Login attempts on one username, whatever the address: 5, then one every 12 s. */
  loginPerUsername: { capacity: 5, refillPerSecond: 1 / 12 },
  /** Accounts created from one address: 5, then one a minute. */
  registerPerIp: { capacity: 5, refillPerSecond: 1 / 60 },
  /** Refreshes from one address: 30, then one every 2 s. */
  refreshPerIp: { capacity: 30, refillPerSecond: 1 / 2 },
  /** Password changes by one user: 5, then one a minute. */
  passwordChangePerUser: { capacity: 5, refillPerSecond: 1 / 60 },
} as const satisfies Record<string, BucketPolicy>;

export type LimitName = keyof typeof RATE_LIMITS;

export async function takeToken(env: Env, name: LimitName, key: string): Promise<TakeResult> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`${name}:${key}`));
  return stub.take(RATE_LIMITS[name]);
}

/** The client's address as Cloudflare reports it; locally there may be none. */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

/**
 * Takes one token from each named bucket (all are checked, so a flood on one key still drains the others)
 * and throws 429 with Retry-After and RateLimit-* headers when any is empty.
 */
export async function enforceLimits(c: Context<AppEnv>, limits: [LimitName, string][]): Promise<void> {
  const results = await Promise.all(limits.map(([name, key]) => takeToken(c.env, name, key)));
  const denied = results.filter((r) => !r.allowed);
  const tightest = results.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  const index = results.indexOf(tightest);
  const policy = RATE_LIMITS[limits[index]?.[0] ?? "loginPerIp"];
  const headers = {
    "RateLimit-Limit": String(policy.capacity),
    "RateLimit-Remaining": String(tightest.remaining),
    "RateLimit-Reset": String(tightest.resetSeconds),
  };
  if (denied.length > 0) {
    const retryAfter = Math.max(...denied.map((r) => r.retryAfterSeconds));
    throw new ApiError("rate_limited", "Too many requests; try again later", {
      headers: { ...headers, "Retry-After": String(retryAfter) },
    });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
