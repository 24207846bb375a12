// Cross-cutting middleware that every route passes through, in order: context, CORS, secure headers.
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { type AppEnv, getConfig } from "./env";
import { createLogger } from "./log";

// A client-supplied id is kept only if it is short and plain, so it cannot forge log lines.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id in and out, the request's logger, typed config, one JSON access log line,
 * and Server-Timing. Runs first so that even errors from later middleware are logged with the id.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const config = getConfig(c.env);
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const log = createLogger(config.logLevel, { requestId });
    c.set("config", config);
    c.set("requestId", requestId);
    c.set("log", log);
    await next();
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    c.header("X-Request-Id", requestId);
    c.header("Server-Timing", `total;dur=${durationMs}`, { append: true });
    log.info("request", {
      method: c.req.method,
      path: c.req.path,
      route: c.req.routePath,
      status: c.res.status,
      durationMs,
      userId: c.get("principal")?.sub,
    });
  };
}

/**
 * CORS: /v1 and Tessera's own routes allow the origins in CORS_ORIGINS (a list, or "*"); the legacy
 * prefixes keep the old gateway's policy (any origin, X-User-ID allowed) so old browser clients still work.
 */
export function corsFromConfig(isLegacyPath: (c: Context<AppEnv>) => boolean): MiddlewareHandler<AppEnv> {
  const configured = configuredCors();
  const legacy = cors({
    origin: "*",
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization", "X-User-ID", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
  });
  return (c, next) => (isLegacyPath(c) ? legacy(c, next) : configured(c, next));
}

function configuredCors(): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin, c) => {
      const allowed = (c.get("config") ?? getConfig(c.env)).corsOrigins;
      if (allowed.includes("*")) return origin || "*";
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Content-Type",
      "Authorization",
      "X-Request-Id",
      "Idempotency-Key",
      "If-None-Match",
      "X-Memory-Metadata",
    ],
    exposeHeaders: [
      "X-Request-Id",
      "Retry-After",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "Server-Timing",
      "ETag",
      "X-Memory-Metadata",
      "X-Memory-Expiration",
    ],
    maxAge: 600,
    credentials: false,
  });
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * An API answers JSON: nothing in it may load or frame anything. A page (/docs) sets its own
 * Content-Security-Policy, which is kept; every other response gets the API's.
 */
export function apiSecureHeaders(): MiddlewareHandler<AppEnv> {
  const others = secureHeaders({
    strictTransportSecurity: "max-age=63072000; includeSubDomains",
    crossOriginResourcePolicy: "same-site",
    referrerPolicy: "no-referrer",
  });
  return async (c, next) => {
    await others(c, next);
    if (!c.res.headers.has("content-security-policy")) c.res.headers.set("Content-Security-Policy", API_CSP);
  };
}
