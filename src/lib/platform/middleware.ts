// Cross-cutting middleware that every route passes through, in order: context, CORS, secure headers.
import type { Context, MiddlewareHandler } from "hono";
import { type AppEnv, getConfig } from "./env";
import { createLogger, scheduleLogFlush } from "./log";

// A client-supplied id is kept only if it is short and plain, so it cannot forge log lines.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id in and out, the request's logger, typed config, one JSON access log line (batched per isolate,
 * src/lib/platform/log.ts), and Server-Timing. Runs first so that even errors from later middleware are logged
 * with the id. Its headers go straight onto the finished response: `c.header()` after the response exists
 * would copy the whole response for each one.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const config = getConfig(c.env);
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const log = createLogger(config.logLevel, { requestId }, config.logBatchLines);
    c.set("config", config);
    c.set("requestId", requestId);
    c.set("log", log);
    await next();
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const timing = `total;dur=${durationMs}`;
    onFinishedHeaders(c, (headers) => {
      headers.set("X-Request-Id", requestId);
      headers.append("Server-Timing", timing);
    });
    log.info("request", {
      method: c.req.method,
      path: c.req.path,
      route: c.req.routePath,
      status: c.res.status,
      durationMs,
      userId: c.get("principal")?.sub,
    });
    scheduleLogFlush(c);
  };
}

/**
 * Edits the finished response's headers in place. Only a response whose headers are immutable (one passed through
 * as fetched) is copied first. Middleware must not touch `c.res` before `next()`: Hono would then create a response
 * up front and copy the handler's into it, headers and all (two Response objects per request for nothing).
 */
export function onFinishedHeaders(c: Context<AppEnv>, edit: (headers: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch {
    const copy = new Response(c.res.body, c.res);
    edit(copy.headers);
    c.res = undefined;
    c.res = copy;
  }
}

interface CorsPolicy {
  /** The Access-Control-Allow-Origin value for a request's Origin (empty when none), or null for none. */
  allowOrigin(origin: string, c: Context<AppEnv>): string | null;
  /** Whether the answer depends on Origin (every policy but "any origin"). */
  varyOrigin: boolean;
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge?: number;
}

/**
 * The CORS exchange of Hono's `cors()` (same headers, same preflight), with the policy's strings joined once and
 * every header set on the finished response (onFinishedHeaders), never through `c.res` before the handler.
 */
function corsMiddleware(policy: CorsPolicy): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header("origin") || "";
    const allowOrigin = policy.allowOrigin(origin, c);
    if (c.req.method === "OPTIONS") {
      const headers = new Headers();
      if (allowOrigin) headers.set("Access-Control-Allow-Origin", allowOrigin);
      headers.set("Access-Control-Expose-Headers", policy.exposeHeaders);
      if (policy.varyOrigin) headers.append("Vary", "Origin");
      if (policy.maxAge !== undefined) headers.set("Access-Control-Max-Age", String(policy.maxAge));
      headers.set("Access-Control-Allow-Methods", policy.allowMethods);
      headers.set("Access-Control-Allow-Headers", policy.allowHeaders);
      headers.append("Vary", "Access-Control-Request-Headers");
      return new Response(null, { headers, status: 204, statusText: "No Content" });
    }
    await next();
    onFinishedHeaders(c, (headers) => {
      if (allowOrigin) headers.set("Access-Control-Allow-Origin", allowOrigin);
      headers.set("Access-Control-Expose-Headers", policy.exposeHeaders);
      if (policy.varyOrigin) headers.append("Vary", "Origin");
    });
  };
}

/**
 * CORS: /v1 and Tessera's own routes allow the origins in CORS_ORIGINS (a list, or "*"); the legacy
 * prefixes keep the old gateway's policy (any origin, X-User-ID allowed) so old browser clients still work.
 */
export function corsFromConfig(isLegacyPath: (c: Context<AppEnv>) => boolean): MiddlewareHandler<AppEnv> {
  const configured = corsMiddleware({
    allowOrigin: (origin, c) => {
      const allowed = (c.get("config") ?? getConfig(c.env)).corsOrigins;
      if (allowed.includes("*")) return origin || "*";
      return allowed.includes(origin) ? origin : null;
    },
    varyOrigin: true,
    allowMethods: "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS",
    allowHeaders: [
      "Content-Type",
      "Authorization",
      "X-Request-Id",
      "Idempotency-Key",
      "If-None-Match",
      "X-Memory-Metadata",
      ...OPENAI_SDK_HEADERS,
    ].join(","),
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
      // The audio routes' answers for an SDK: whether to retry, and which job to fetch later.
      "x-should-retry",
      "X-Job-Id",
      "Location",
    ].join(","),
    maxAge: 600,
  });
  const legacy = corsMiddleware({
    allowOrigin: () => "*",
    varyOrigin: false,
    allowMethods: "GET,POST,PUT,DELETE,OPTIONS",
    allowHeaders: "Content-Type,Authorization,X-User-ID,X-Request-Id",
    exposeHeaders: "X-Request-Id,Retry-After",
  });
  return (c, next) => (isLegacyPath(c) ? legacy(c, next) : configured(c, next));
}

/**
 * What the official OpenAI SDKs (generated by Stainless) send with every request: a browser preflights them, so
 * they must be allowed for the SDK to work from a web page (docs/gateway.md "CORS").
 */
const OPENAI_SDK_HEADERS = [
  "X-Stainless-Lang",
  "X-Stainless-Package-Version",
  "X-Stainless-OS",
  "X-Stainless-Arch",
  "X-Stainless-Runtime",
  "X-Stainless-Runtime-Version",
  "X-Stainless-Retry-Count",
  "X-Stainless-Timeout",
  "X-Stainless-Read-Timeout",
  "X-Stainless-Async",
  "X-Stainless-Helper-Method",
  "X-Stainless-Poll-Helper",
  "X-Stainless-Custom-Poll-Interval",
  "OpenAI-Organization",
  "OpenAI-Project",
  "OpenAI-Beta",
];

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The headers of Hono's `secureHeaders()` with this API's options (HSTS for two years, same-site resources, no
 * referrer), as one fixed list: Hono's middleware is the same exchange with its options read per request.
 */
const SECURE_HEADERS: [string, string][] = [
  ["Cross-Origin-Resource-Policy", "same-site"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/**
 * An API answers JSON: nothing in it may load or frame anything. A page (/docs) sets its own
 * Content-Security-Policy, which is kept; every other response gets the API's. X-Powered-By never leaves.
 */
export function apiSecureHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    onFinishedHeaders(c, (headers) => {
      for (const [name, value] of SECURE_HEADERS) headers.set(name, value);
      headers.delete("X-Powered-By");
      if (!headers.has("content-security-policy")) headers.set("Content-Security-Policy", API_CSP);
    });
  };
}
