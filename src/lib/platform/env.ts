// The one Env: every binding, var and secret the Worker sees, and the typed config parsed from it once per isolate.
import { z } from "zod";
import type { HubConnections } from "../../../durable-objects/hub-connections";
import type { Hub } from "../../../durable-objects/hub-room";
import type { HubTickets } from "../../../durable-objects/hub-tickets";
import type { JobBoard } from "../../../durable-objects/job-board";
import type { LegacyHub } from "../../../durable-objects/legacy-hub";
import type { RateLimiter } from "../../../durable-objects/rate-limiter";
import type { ServiceCredentials } from "../../../durable-objects/service-credentials";
import { activeRules, type TagRule, TagRulesConfig } from "../files/tags";
import type { QueueMessage } from "../jobs/protocol";
import { SharedNamespacesSchema } from "../memory/namespace";
import type { Logger, LogLevel } from "./log";

export interface Env {
  // Bindings (wrangler.toml)
  MEMORY: KVNamespace;
  FILES: R2Bucket;
  HUB: DurableObjectNamespace<Hub>;
  JOB_BOARD: DurableObjectNamespace<JobBoard>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  HUB_TICKETS: DurableObjectNamespace<HubTickets>;
  LEGACY_HUB: DurableObjectNamespace<LegacyHub>;
  HUB_CONNECTIONS: DurableObjectNamespace<HubConnections>;
  SERVICE_CREDENTIALS: DurableObjectNamespace<ServiceCredentials>;
  GPU_JOBS: Queue<QueueMessage>;
  /** Outgoing webhook deliveries (docs/notifications.md) and analytics event batches (docs/analytics.md). */
  WEBHOOKS: Queue<import("../notifications/webhooks").WebhookMessage>;
  EVENTS: Queue<import("../analytics/events").EventsMessage>;
  /** Workers Analytics Engine (production only; docs/analytics.md). Without it events go to Postgres. */
  ANALYTICS?: AnalyticsEngineDataset;
  // Vars (wrangler.toml [vars]); strings, parsed by getConfig
  ENVIRONMENT?: string;
  CORS_ORIGINS?: string;
  MAX_BODY_BYTES?: string;
  HEALTH_CACHE_SECONDS?: string;
  HEALTH_TIMEOUT_MS?: string;
  LOG_LEVEL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  GATEWAY_ROUTES?: string;
  GATEWAY_MAX_BODY_BYTES?: string;
  ROUTE_TIMEOUT_MS?: string;
  RATE_LIMIT_USER_PER_MINUTE?: string;
  RATE_LIMIT_IP_PER_MINUTE?: string;
  GATEWAY_BREAKER_FAILURES?: string;
  GATEWAY_BREAKER_OPEN_MS?: string;
  AUTH_RATE_LIMIT_SCALE?: string;
  MEMORY_MAX_VALUE_BYTES?: string;
  MEMORY_SHARED_NAMESPACES?: string;
  MEMORY_CACHE_TTL_SECONDS?: string;
  HUB_MAX_FRAME_BYTES?: string;
  HUB_MESSAGES_PER_SECOND?: string;
  HUB_MAX_CONNECTIONS_PER_USER?: string;
  HUB_MAX_MEMBERS_PER_ROOM?: string;
  JOBS_AUDIO_WAIT_MS?: string;
  JOBS_LEASE_MS?: string;
  JOBS_INPUT_URL_ALLOW_PRIVATE?: string;
  FILES_MAX_BYTES?: string;
  FILES_INDEX_MAX_BYTES?: string;
  FILES_INLINE_INDEX_MAX_BYTES?: string;
  FILES_TAG_RULES?: string;
  WEBHOOKS_ALLOW_PRIVATE?: string;
  WEBHOOKS_MAX_ATTEMPTS?: string;
  WEBHOOKS_BACKOFF_BASE_SECONDS?: string;
  WEBHOOKS_TIMEOUT_MS?: string;
  METRICS_FLUSH_MS?: string;
  REQUEST_METRICS?: string;
  // Secrets (.dev.vars locally, `wrangler secret put` in production)
  DATABASE_URL?: string;
  /** The current signing key: a private JWK (JSON) with `kid` and `alg` (ES256 or EdDSA). Only the auth service. */
  JWT_PRIVATE_KEY?: string;
  /** `{"keys":[…]}`: the public halves of the current key and, during a rotation, the previous one. */
  JWT_PUBLIC_KEYS?: string;
  /** One-time secret for POST /v1/auth/bootstrap; useless once an admin exists. */
  ADMIN_BOOTSTRAP_TOKEN?: string;
  /**
   * A GPU worker credential set by configuration (`tgw_` and at least 32 more characters) for hosts where no admin
   * issues one, such as `npm run dev`. It registers as the worker `gpuw_bootstrap` on first use; revoking that worker
   * refuses it until the secret changes.
   */
  GPU_WORKER_BOOTSTRAP_SECRET?: string;
}

/** Hono's generic: the bindings plus what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: Config;
    /** The verified caller, set by authorize() (src/lib/identity/auth.ts). */
    principal?: import("../identity/jwt").AccessClaims;
    /** The caller's user as the database has it now, set by authorize() on session-checked routes. */
    sessionUser?: import("../identity/users").PublicUser;
    /** The service credential that called a { scope } route (src/lib/identity/auth.ts). */
    service?: import("../identity/service-credentials").ServiceCaller;
  };
}

const intFrom = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

/** A var holding JSON for `schema`; unset or blank is `{}`. `example` goes into the message for unparsable JSON. */
const jsonVar = <T extends z.ZodType>(example: string, schema: T) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return {};
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: `must be JSON like ${example}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "production"]).default("development"),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  MAX_BODY_BYTES: intFrom(1024 * 1024, 1024, 100 * 1024 * 1024),
  HEALTH_CACHE_SECONDS: intFrom(5, 0, 3600),
  HEALTH_TIMEOUT_MS: intFrom(2000, 50, 30_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  JWT_ISSUER: z.string().trim().min(1).max(256).default("tessera"),
  JWT_AUDIENCE: z.string().trim().min(1).max(256).default("tessera-api"),
  ACCESS_TOKEN_TTL_SECONDS: intFrom(900, 60, 86_400),
  GATEWAY_MAX_BODY_BYTES: intFrom(100 * 1024 * 1024, 1024, 500 * 1024 * 1024),
  ROUTE_TIMEOUT_MS: intFrom(30_000, 100, 300_000),
  RATE_LIMIT_USER_PER_MINUTE: intFrom(600, 1, 1_000_000),
  RATE_LIMIT_IP_PER_MINUTE: intFrom(120, 1, 1_000_000),
  GATEWAY_BREAKER_FAILURES: intFrom(5, 1, 1000),
  GATEWAY_BREAKER_OPEN_MS: intFrom(10_000, 100, 600_000),
  AUTH_RATE_LIMIT_SCALE: intFrom(1, 1, 1_000_000_000),
  // 25 MiB is Workers KV's own ceiling for one value.
  MEMORY_MAX_VALUE_BYTES: intFrom(1024 * 1024, 1, 25 * 1024 * 1024),
  MEMORY_SHARED_NAMESPACES: jsonVar('{"team-research":["researcher","admin"]}', SharedNamespacesSchema),
  // KV cannot expire anything sooner than 60 s; a day bounds how stale a cached memory's access count gets.
  MEMORY_CACHE_TTL_SECONDS: intFrom(300, 60, 86_400),
  // 1 MiB is workerd's own ceiling for one WebSocket message.
  HUB_MAX_FRAME_BYTES: intFrom(64 * 1024, 256, 1024 * 1024),
  HUB_MESSAGES_PER_SECOND: intFrom(20, 1, 10_000),
  HUB_MAX_CONNECTIONS_PER_USER: intFrom(5, 1, 1000),
  // Each socket of a hibernating object costs memory while awake; 32,768 is the platform's per-object socket cap.
  HUB_MAX_MEMBERS_PER_ROOM: intFrom(1000, 1, 32_768),
  // Below ROUTE_TIMEOUT_MS's default, so a waiting /v1/audio/* request answers 202 before the route times out.
  JOBS_AUDIO_WAIT_MS: intFrom(20_000, 0, 25_000),
  // A lease outlives a worker's silence by this long; short leases re-run a dead worker's jobs sooner but need
  // heartbeats at least that often.
  JOBS_LEASE_MS: intFrom(60_000, 1000, 600_000),
  JOBS_INPUT_URL_ALLOW_PRIVATE: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  // Files (docs/files.md). 100 MiB is a Worker's own ceiling on a request body (Free and Pro plans).
  FILES_MAX_BYTES: intFrom(25 * 1024 * 1024, 1, 100 * 1024 * 1024),
  FILES_INDEX_MAX_BYTES: intFrom(128 * 1024, 1024, 1024 * 1024),
  FILES_INLINE_INDEX_MAX_BYTES: intFrom(1024 * 1024, 0, 100 * 1024 * 1024),
  FILES_TAG_RULES: jsonVar('{"disable":["size-class"],"add":[…]}', TagRulesConfig),
  // Webhooks (docs/notifications.md): private receivers only for local development and tests.
  WEBHOOKS_ALLOW_PRIVATE: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  WEBHOOKS_MAX_ATTEMPTS: intFrom(8, 1, 20),
  WEBHOOKS_BACKOFF_BASE_SECONDS: intFrom(10, 0, 3600),
  WEBHOOKS_TIMEOUT_MS: intFrom(10_000, 100, 30_000),
  // Request metrics (docs/analytics.md): how long an isolate gathers them before one write (0 = every request).
  METRICS_FLUSH_MS: intFrom(5000, 0, 60_000),
  // "false" records no request metrics at all (bench/events.ts measures their cost this way).
  REQUEST_METRICS: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
});

export interface Config {
  environment: "development" | "test" | "production";
  corsOrigins: string[];
  maxBodyBytes: number;
  healthCacheMs: number;
  healthTimeoutMs: number;
  logLevel: LogLevel;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  /** Largest request body the proxy forwards. */
  gatewayMaxBodyBytes: number;
  /** Time a local route may take before the client gets 504. */
  routeTimeoutMs: number;
  /** Requests per minute for a signed-in user, and for an address without a token, on rate-limited routes. */
  rateLimitUserPerMinute: number;
  rateLimitIpPerMinute: number;
  /** Consecutive failures that open an upstream's circuit breaker, and how long it stays open. */
  breaker: { failureThreshold: number; openMs: number };
  /** Multiplies every limit in RATE_LIMITS (login, register, …). 1 in production; load tests raise it. */
  authRateLimitScale: number;
  /** Largest value the key-value API stores (MEMORY_MAX_VALUE_BYTES). */
  memoryMaxValueBytes: number;
  /** Team namespace → the roles that may use it (MEMORY_SHARED_NAMESPACES); a Map, so "constructor" is no team. */
  memorySharedNamespaces: ReadonlyMap<string, readonly string[]>;
  /** How long a memory stays in the KV cache (MEMORY_CACHE_TTL_SECONDS). */
  memoryCacheTtlSeconds: number;
  /** The hub's limits (docs/hub.md): frame bytes, client frames per second per socket, sockets per user across
   *  all rooms, distinct users online in one room. */
  hub: {
    maxFrameBytes: number;
    messagesPerSecond: number;
    maxConnectionsPerUser: number;
    maxMembersPerRoom: number;
  };
  /** How long /v1/audio/* waits for its job before answering 202 with the job's link (JOBS_AUDIO_WAIT_MS). */
  jobsAudioWaitMs: number;
  /** How long a GPU lease lasts without a heartbeat (JOBS_LEASE_MS). */
  jobsLeaseMs: number;
  /** Whether `{url}` job input may name loopback and private addresses (JOBS_INPUT_URL_ALLOW_PRIVATE; dev only). */
  jobsInputUrlAllowPrivate: boolean;
  /** Files (docs/files.md): the largest file and request body (FILES_MAX_BYTES), how much of a file's text is
   *  indexed (FILES_INDEX_MAX_BYTES), the largest file indexed inside the upload request rather than through the
   *  queue (FILES_INLINE_INDEX_MAX_BYTES), and the tag rules in force (FILES_TAG_RULES over the built-ins). */
  files: { maxBytes: number; indexMaxBytes: number; inlineIndexMaxBytes: number; tagRules: readonly TagRule[] };
  /** Outgoing webhooks (docs/notifications.md): attempts before dead, the first backoff (doubling), time per try. */
  webhooks: { allowPrivate: boolean; maxAttempts: number; backoffBaseSeconds: number; timeoutMs: number };
  /** How long an isolate gathers request metrics before writing them (METRICS_FLUSH_MS); whether it records them
   *  at all (REQUEST_METRICS). */
  metricsFlushMs: number;
  requestMetrics: boolean;
}

const cache = new WeakMap<Env, Config>();

/**
 * Parses the vars once per isolate (the env object is stable across requests).
 * A bad value is a deployment mistake: fail loudly with every problem named.
 */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const v = parsed.data;
  const config: Config = {
    environment: v.ENVIRONMENT,
    corsOrigins: v.CORS_ORIGINS,
    maxBodyBytes: v.MAX_BODY_BYTES,
    healthCacheMs: v.HEALTH_CACHE_SECONDS * 1000,
    healthTimeoutMs: v.HEALTH_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
    jwtIssuer: v.JWT_ISSUER,
    jwtAudience: v.JWT_AUDIENCE,
    accessTokenTtlSeconds: v.ACCESS_TOKEN_TTL_SECONDS,
    gatewayMaxBodyBytes: v.GATEWAY_MAX_BODY_BYTES,
    routeTimeoutMs: v.ROUTE_TIMEOUT_MS,
    rateLimitUserPerMinute: v.RATE_LIMIT_USER_PER_MINUTE,
    rateLimitIpPerMinute: v.RATE_LIMIT_IP_PER_MINUTE,
    breaker: { failureThreshold: v.GATEWAY_BREAKER_FAILURES, openMs: v.GATEWAY_BREAKER_OPEN_MS },
    authRateLimitScale: v.AUTH_RATE_LIMIT_SCALE,
    memoryMaxValueBytes: v.MEMORY_MAX_VALUE_BYTES,
    memorySharedNamespaces: new Map(Object.entries(v.MEMORY_SHARED_NAMESPACES)),
    memoryCacheTtlSeconds: v.MEMORY_CACHE_TTL_SECONDS,
    hub: {
      maxFrameBytes: v.HUB_MAX_FRAME_BYTES,
      messagesPerSecond: v.HUB_MESSAGES_PER_SECOND,
      maxConnectionsPerUser: v.HUB_MAX_CONNECTIONS_PER_USER,
      maxMembersPerRoom: v.HUB_MAX_MEMBERS_PER_ROOM,
    },
    jobsAudioWaitMs: v.JOBS_AUDIO_WAIT_MS,
    jobsLeaseMs: v.JOBS_LEASE_MS,
    jobsInputUrlAllowPrivate: v.JOBS_INPUT_URL_ALLOW_PRIVATE,
    files: {
      maxBytes: v.FILES_MAX_BYTES,
      indexMaxBytes: v.FILES_INDEX_MAX_BYTES,
      inlineIndexMaxBytes: v.FILES_INLINE_INDEX_MAX_BYTES,
      tagRules: activeRules(v.FILES_TAG_RULES),
    },
    webhooks: {
      allowPrivate: v.WEBHOOKS_ALLOW_PRIVATE,
      maxAttempts: v.WEBHOOKS_MAX_ATTEMPTS,
      backoffBaseSeconds: v.WEBHOOKS_BACKOFF_BASE_SECONDS,
      timeoutMs: v.WEBHOOKS_TIMEOUT_MS,
    },
    metricsFlushMs: v.METRICS_FLUSH_MS,
    requestMetrics: v.REQUEST_METRICS,
  };
  cache.set(env, config);
  return config;
}
