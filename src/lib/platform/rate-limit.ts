// Rate limits as token buckets in the RateLimiter Durable Object, one object per key.
import type { Context } from "hono";
import type { BucketPolicy, TakeResult } from "../../../durable-objects/rate-limiter";
import type { AppEnv, Env } from "./env";
import { ApiError } from "./errors";

export type { BucketPolicy };

/** The limits, in one table. Each is per key: an IP, a username, a user id. */
export const RATE_LIMITS = {
  /** Login attempts from one address: a burst of 10, then one every 6 s. */
  loginPerIp: { capacity: 10, refillPerSecond: 1 / 6 },
  /**
   * Login attempts on one account from one address (username and e-mail share it): 5, then one a minute. Keyed by
   * address and account, so guesses from elsewhere never lock the owner out (docs/auth.md "Rate limits").
   */
  loginPerAddressAccount: { capacity: 5, refillPerSecond: 1 / 60 },
  /**
   * Login attempts on one account from all addresses together: 100, then one every 10 s. Refills six times faster
   * than one address may spend, so only a spread-out attack reaches it, and it still bounds guesses per account.
   */
  loginPerAccount: { capacity: 100, refillPerSecond: 1 / 10 },
  /** Accounts created from one address: 5, then one a minute. */
  registerPerIp: { capacity: 5, refillPerSecond: 1 / 60 },
  /** Refreshes from one address: 30, then one every 2 s. */
  refreshPerIp: { capacity: 30, refillPerSecond: 1 / 2 },
  /** E-mail changes by one user: 5, then one a minute (each tells whether an address is taken: docs/security.md). */
  emailChangePerUser: { capacity: 5, refillPerSecond: 1 / 60 },
  /** Password changes by one user: 5, then one a minute. */
  passwordChangePerUser: { capacity: 5, refillPerSecond: 1 / 60 },
} as const satisfies Record<string, BucketPolicy>;

type LimitName = keyof typeof RATE_LIMITS;

interface BucketRef {
  /** The bucket's identity, e.g. "loginPerIp:203.0.113.7". */
  key: string;
  policy: BucketPolicy;
}

async function takeToken(env: Env, bucket: BucketRef): Promise<TakeResult> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(bucket.key));
  return stub.take(bucket.policy);
}

/**
 * The local runtimes' peer. `npm run dev` (wrangler dev) and `npm run start` listen on 127.0.0.1 only, so every
 * client they serve is this machine; the Worker cannot see the socket, and the CF-Connecting-IP header it does
 * see there comes from the client when the client sent one (Miniflare only fills it in when absent).
 */
export const LOCAL_PEER_ADDRESS = "127.0.0.1";

/**
 * The client's address, the key of every per-address limit (docs/security.md "Client addresses"). In production
 * Cloudflare's edge sets CF-Connecting-IP, replacing any value a client sent; a request without it did not come
 * through the edge and is refused rather than put in a shared bucket. The Workers test harness plays the edge
 * (ENVIRONMENT=test). Anywhere else the header is the client's own choice and is ignored: the peer is loopback.
 */
export function clientIp(c: Context<AppEnv>): string {
  const environment = c.get("config").environment;
  if (environment === "development") return LOCAL_PEER_ADDRESS;
  const ip = c.req.header("cf-connecting-ip");
  if (ip) return ip;
  if (environment === "test") return LOCAL_PEER_ADDRESS;
  throw new ApiError("forbidden", "The request did not arrive through Cloudflare's edge");
}

/**
 * Takes one token from each bucket (all are checked, so a flood on one key still drains the others) and
 * throws 429 with Retry-After and RateLimit-* headers when any is empty; otherwise sets the headers.
 */
async function enforceBuckets(
  c: Context<AppEnv>,
  buckets: BucketRef[],
  take: (env: Env, bucket: BucketRef) => Promise<TakeResult> = takeToken,
): Promise<void> {
  const results = await Promise.all(buckets.map((b) => take(c.env, b)));
  let tightest = 0;
  results.forEach((r, i) => {
    if (r.remaining < (results[tightest] as TakeResult).remaining) tightest = i;
  });
  const result = results[tightest] as TakeResult;
  const headers = {
    "RateLimit-Limit": String((buckets[tightest] as BucketRef).policy.capacity),
    "RateLimit-Remaining": String(result.remaining),
    "RateLimit-Reset": String(result.resetSeconds),
  };
  const denied = results.filter((r) => !r.allowed);
  if (denied.length > 0) {
    const retryAfter = Math.max(...denied.map((r) => r.retryAfterSeconds));
    throw new ApiError("rate_limited", "Too many requests; try again later", {
      headers: { ...headers, "Retry-After": String(retryAfter) },
    });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

/** The named limits of RATE_LIMITS (times AUTH_RATE_LIMIT_SCALE), each for one key (an IP, a username, a user id). */
export function enforceLimits(c: Context<AppEnv>, limits: [LimitName, string][]): Promise<void> {
  const scale = c.get("config").authRateLimitScale;
  return enforceBuckets(
    c,
    limits.map(([name, key]) => {
      const { capacity, refillPerSecond } = RATE_LIMITS[name];
      return {
        key: `${name}:${key}`,
        policy: { capacity: capacity * scale, refillPerSecond: refillPerSecond * scale },
      };
    }),
  );
}

/** A per-minute rate as a bucket: a burst of a fifth of it (12 s worth), refilled steadily. */
function perMinute(rate: number): BucketPolicy {
  return { capacity: Math.max(1, Math.ceil(rate / 5)), refillPerSecond: rate / 60 };
}

/** A lease lasts this long; tokens it did not spend by then are dropped, not returned. */
const LEASE_MS = 1000;
/** A lease holds a tenth of the bucket, so an isolate can over-grant at most that much per second. */
const LEASE_FRACTION = 10;

/** Tokens this isolate took from a bucket in advance and spends without asking the Durable Object. */
const leases = new Map<string, { tokens: number; remaining: number; resetSeconds: number; until: number }>();

/**
 * Takes a token for the per-request limit from a local lease when it can, and otherwise leases a batch
 * from the Durable Object: one round trip per batch instead of per request (it was ~200 µs of CPU a
 * request). Near the limit the batch no longer fits and single tokens are taken, so the bucket stays exact
 * where it matters; the price is that an isolate may let through up to a tenth of the bucket early.
 */
async function takeLeased(env: Env, bucket: BucketRef): Promise<TakeResult> {
  const now = Date.now();
  const lease = leases.get(bucket.key);
  if (lease && lease.tokens > 0 && now < lease.until) {
    lease.tokens--;
    return {
      allowed: true,
      remaining: lease.remaining + lease.tokens,
      retryAfterSeconds: 0,
      resetSeconds: lease.resetSeconds,
    };
  }
  const batch = Math.max(1, Math.floor(bucket.policy.capacity / LEASE_FRACTION));
  if (batch > 1) {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(bucket.key));
    const leased = await stub.take(bucket.policy, batch);
    if (leased.allowed) {
      if (leases.size > 10_000) leases.clear(); // bound memory under a flood of distinct keys
      leases.set(bucket.key, {
        tokens: batch - 1,
        remaining: leased.remaining,
        resetSeconds: leased.resetSeconds,
        until: now + LEASE_MS,
      });
      return { ...leased, remaining: leased.remaining + batch - 1 };
    }
  }
  return takeToken(env, bucket);
}

/**
 * The gateway's limit on every rate-limited route: per user when the caller is signed in,
 * per address otherwise (RATE_LIMIT_USER_PER_MINUTE, RATE_LIMIT_IP_PER_MINUTE).
 */
export function enforceRequestLimit(c: Context<AppEnv>, userId: string | undefined): Promise<void> {
  const config = c.get("config");
  const bucket: BucketRef = userId
    ? { key: `apiPerUser:${userId}`, policy: perMinute(config.rateLimitUserPerMinute) }
    : { key: `apiPerIp:${clientIp(c)}`, policy: perMinute(config.rateLimitIpPerMinute) };
  return enforceBuckets(c, [bucket], takeLeased);
}
