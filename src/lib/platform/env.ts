// The one Env: every binding, var and secret the Worker sees, and the typed config parsed from it once per isolate.
import { z } from "zod";
import { activeRules, type TagRule, TagRulesConfig } from "../files/tags";
import type { QueueMessage } from "../jobs/protocol";
import { SharedNamespacesSchema } from "../memory/namespace";
import type { Logger } from "./log";

/**
 * The Worker's bindings and vars come from wrangler.toml through `npm run cf-typegen` (worker-configuration.d.ts,
 * committed; `npm run check` fails when it is stale). Added here: the queue's message type, which wrangler.toml cannot
 * say, and the secrets, which are never in wrangler.toml and may be unset.
 */
export interface Env extends Omit<Cloudflare.Env, "GPU_JOBS" | "WEBHOOKS" | "EVENTS">, Secrets {
  GPU_JOBS: Queue<QueueMessage>;
  /** Outgoing webhook deliveries (docs/notifications.md) and analytics event batches (docs/analytics.md). */
  WEBHOOKS: Queue<import("../notifications/webhooks").WebhookMessage>;
  EVENTS: Queue<import("../analytics/events").EventsMessage>;
  /** Workers Analytics Engine (production only, commented in wrangler.toml; docs/analytics.md). Without it
   *  events and request metrics go to Postgres. */
  ANALYTICS?: AnalyticsEngineDataset;
}

/** Secrets: .dev.vars locally, `wrangler secret put` in production; each may be unset. */
export interface Secrets {
  DATABASE_URL?: string;
  /** An API token with Account Analytics read, for the summary over Analytics Engine (docs/analytics.md). */
  ANALYTICS_ENGINE_API_TOKEN?: string;
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
    /** The GPU worker that called a route declared with `auth: GPU_WORKER` (src/lib/jobs/worker-credential.ts). */
    gpuWorker?: { id: string };
    /** Who opens a hub socket, on a route declared with `auth: HUB_SOCKET` (src/lib/hub/connect.ts). */
    hubSocket?: import("../hub/connect").SocketIdentity;
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

/**
 * The configuration, one line per var: a key here reads the var of the same name in SCREAMING_SNAKE_CASE (`maxBodyBytes`
 * ← MAX_BODY_BYTES), and a nested object reads its vars under its own name as a prefix (`hub.maxFrameBytes` ←
 * HUB_MAX_FRAME_BYTES). `Config` is this schema's output. Adding a var: docs/architecture.md.
 */
const ConfigSchema = z.object({
  environment: z.enum(["development", "test", "production"]).default("development"),
  /** Origins allowed by CORS on /v1 (comma-separated; `*` allows any). */
  corsOrigins: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  maxBodyBytes: intFrom(1024 * 1024, 1024, 100 * 1024 * 1024),
  healthCacheSeconds: intFrom(5, 0, 3600),
  healthTimeoutMs: intFrom(2000, 50, 30_000),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Request log lines per console.log call; 1 writes each line alone (src/lib/platform/log.ts). */
  logBatchLines: intFrom(64, 1, 1024),
  jwtIssuer: z.string().trim().min(1).max(256).default("tessera"),
  jwtAudience: z.string().trim().min(1).max(256).default("tessera-api"),
  accessTokenTtlSeconds: intFrom(900, 60, 86_400),
  /** Largest request body the proxy forwards. */
  gatewayMaxBodyBytes: intFrom(100 * 1024 * 1024, 1024, 500 * 1024 * 1024),
  /** Consecutive failures that open an upstream's circuit breaker, and how long it stays open. */
  gatewayBreaker: z.object({ failures: intFrom(5, 1, 1000), openMs: intFrom(10_000, 100, 600_000) }),
  /** Time a local route may take before the client gets 504. */
  routeTimeoutMs: intFrom(30_000, 100, 300_000),
  /** Requests per minute for a signed-in user, and for an address without a token, on rate-limited routes. */
  rateLimitUserPerMinute: intFrom(600, 1, 1_000_000),
  rateLimitIpPerMinute: intFrom(120, 1, 1_000_000),
  /** Multiplies every limit in RATE_LIMITS (login, register, …). 1 in production; load tests raise it. */
  authRateLimitScale: intFrom(1, 1, 1_000_000_000),
  // 25 MiB is Workers KV's own ceiling for one value.
  memoryMaxValueBytes: intFrom(1024 * 1024, 1, 25 * 1024 * 1024),
  /** Team namespace → the roles that may use it; a Map, so "constructor" is no team. */
  memorySharedNamespaces: jsonVar('{"team-research":["researcher","admin"]}', SharedNamespacesSchema).transform(
    (v): ReadonlyMap<string, readonly string[]> => new Map(Object.entries(v)),
  ),
  // KV cannot expire anything sooner than 60 s; a day bounds how stale a cached memory's access count gets.
  memoryCacheTtlSeconds: intFrom(300, 60, 86_400),
  /** The hub's limits (docs/hub.md): frame bytes, client frames per second per socket, sockets per user across all
   *  rooms, distinct users online in one room. */
  hub: z.object({
    // 1 MiB is workerd's own ceiling for one WebSocket message.
    maxFrameBytes: intFrom(64 * 1024, 256, 1024 * 1024),
    messagesPerSecond: intFrom(20, 1, 10_000),
    maxConnectionsPerUser: intFrom(5, 1, 1000),
    // Each socket of a hibernating object costs memory while awake; 32,768 is the platform's per-object socket cap.
    maxMembersPerRoom: intFrom(1000, 1, 32_768),
  }),
  /** How long /v1/audio/* waits for its job before answering 504 with the job's id. OpenAI's audio routes are
   *  synchronous: wait long (the audio routes' own timeout is 600 s, the openai SDK's too). */
  jobsAudioWaitMs: intFrom(300_000, 0, 590_000),
  // A lease outlives a worker's silence by this long; short leases re-run a dead worker's jobs sooner but need
  // heartbeats at least that often.
  jobsLeaseMs: intFrom(60_000, 1000, 600_000),
  /** Whether `{url}` job input may name loopback and private addresses (local development only). */
  jobsInputUrlAllowPrivate: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /** A DNS-over-HTTPS JSON resolver for user-chosen URLs (src/lib/net/guarded-fetch.ts, docs/security.md); unset:
   *  names are checked by their spelling only. */
  netResolverUrl: z
    .string()
    .default("")
    .transform((v) => v.trim())
    .pipe(z.union([z.literal(""), z.url({ protocol: /^https?$/ })]))
    .transform((v) => v || undefined),
  /** Files (docs/files.md): the largest file and request body, how much of a file's text is indexed, the largest file
   *  indexed inside the upload request rather than through the queue, and the tag rules in force (FILES_TAG_RULES
   *  over the built-ins). 100 MiB is a Worker's own ceiling on a request body (Free and Pro plans). */
  files: z.object({
    maxBytes: intFrom(25 * 1024 * 1024, 1, 100 * 1024 * 1024),
    indexMaxBytes: intFrom(128 * 1024, 1024, 1024 * 1024),
    inlineIndexMaxBytes: intFrom(1024 * 1024, 0, 100 * 1024 * 1024),
    tagRules: jsonVar('{"disable":["size-class"],"add":[…]}', TagRulesConfig).transform((v): readonly TagRule[] =>
      activeRules(v),
    ),
  }),
  /** Outgoing webhooks (docs/notifications.md): receivers on loopback/private addresses (development and tests
   *  only), attempts before a delivery is dead, the first retry's wait (doubling), time per attempt. */
  webhooks: z.object({
    allowPrivate: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    maxAttempts: intFrom(8, 1, 20),
    backoffBaseSeconds: intFrom(10, 0, 3600),
    timeoutMs: intFrom(10_000, 100, 30_000),
  }),
  /** Request metrics (docs/analytics.md): how long an isolate gathers them before one write (0 = every request). */
  metricsFlushMs: intFrom(5000, 0, 60_000),
  /**
   * Analytics storage (docs/analytics.md): days of events and request metrics kept in Postgres (the hourly cron
   * prunes older rows), and where the summary reads: "postgres" (local, self-hosted) or "analytics-engine" (Workers
   * Analytics Engine's SQL API, with ANALYTICS_ENGINE_ACCOUNT_ID, the dataset, and the ANALYTICS_ENGINE_API_TOKEN
   * secret; ANALYTICS_ENGINE_SQL_URL overrides the API's address, for tests).
   */
  analytics: z.object({
    retentionDays: intFrom(90, 1, 3650),
    reader: z.enum(["postgres", "analytics-engine"]).default("postgres"),
  }),
  analyticsEngine: z.object({
    accountId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, "a 32-hex-digit account id")
      .or(z.literal(""))
      .default(""),
    dataset: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,64}$/, "letters, digits and _")
      .default("tessera"),
    sqlUrl: z
      .url({ protocol: /^https?$/ })
      .or(z.literal(""))
      .default(""),
  }),
  /** "false" records no request metrics at all (bench/events.ts measures their cost this way). */
  requestMetrics: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
});

export type Config = z.output<typeof ConfigSchema>;

/** `maxBodyBytes` → `MAX_BODY_BYTES`; under a group, its name is the prefix (`hub`, `maxFrameBytes` → `HUB_MAX_FRAME_BYTES`). */
export function varName(path: readonly PropertyKey[]): string {
  return path
    .map((key) => String(key).replace(/[A-Z]/g, (c) => `_${c}`))
    .join("_")
    .toUpperCase();
}

/** The schema's input: each key's var from `env` (nested groups read their prefixed vars). */
function varsFor(shape: z.ZodRawShape, env: object, prefix: string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    input[key] =
      schema instanceof z.ZodObject
        ? varsFor(schema.shape, env, [...prefix, key])
        : Reflect.get(env, varName([...prefix, key]));
  }
  return input;
}

const cache = new WeakMap<object, Config>();

/**
 * Parses the vars once per isolate (the env object is stable across requests).
 * A bad value is a deployment mistake: fail loudly with every problem named by its var.
 */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(varsFor(ConfigSchema.shape, env, []));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${varName(i.path)}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
