// The one Env: every binding, var and secret the Worker sees, and the typed config parsed from it once per isolate.
import { z } from "zod";
import type { Hub } from "../../durable-objects/hub";
import type { JobBoard } from "../../durable-objects/job-board";
import type { RateLimiter } from "../../durable-objects/rate-limiter";
import type { Logger, LogLevel } from "./log";
import type { QueueMessage } from "./protocol";

export interface Env {
  // Bindings (wrangler.toml)
  MEMORY: KVNamespace;
  FILES: R2Bucket;
  HUB: DurableObjectNamespace<Hub>;
  JOB_BOARD: DurableObjectNamespace<JobBoard>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  GPU_JOBS: Queue<QueueMessage>;
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
  // Secrets (.dev.vars locally, `wrangler secret put` in production)
  DATABASE_URL?: string;
  /** The current signing key: a private JWK (JSON) with `kid` and `alg` (ES256 or EdDSA). Only the auth service. */
  JWT_PRIVATE_KEY?: string;
  /** `{"keys":[…]}`: the public halves of the current key and, during a rotation, the previous one. */
  JWT_PUBLIC_KEYS?: string;
  /** One-time secret for POST /v1/auth/bootstrap; useless once an admin exists. */
  ADMIN_BOOTSTRAP_TOKEN?: string;
}

/** Hono's generic: the bindings plus what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: Config;
    /** The verified caller, set by authorize() (src/lib/auth.ts). */
    principal?: import("./jwt").AccessClaims;
  };
}

const intFrom = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

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
  };
  cache.set(env, config);
  return config;
}
