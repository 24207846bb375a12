// The envelope every request passes through, as one middleware: request id, logger and config; CORS; the
// gateway's proxy for prefixes served elsewhere; then, on the finished response, the secure, CORS and request-id
// headers, the access log line and the request metric. One middleware rather than five: each level of Hono's chain
// is an async frame and a closure per request (docs/benchmarks.md, "The envelope, part by part").
import type { Context, MiddlewareHandler } from "hono";
import { type AppEnv, getConfig } from "./env";
import { onError } from "./errors";
import { createLogger, scheduleLogFlush } from "./log";

// A client-supplied id is kept only if it is short and plain, so it cannot forge log lines.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What the envelope takes from the concerns above the platform (wired in app.ts). */
export interface EnvelopeParts<Match extends { elsewhere: boolean }> {
  /** The gateway route-table entry the path falls under, if any (src/lib/gateway/routing.ts). */
  routed(c: Context<AppEnv>): Match | undefined;
  /** The upstream's answer for a prefix served elsewhere, or undefined to fall through to Tessera's routes. */
  proxy(c: Context<AppEnv>, match: Match): Promise<Response | undefined>;
  /** The request's metric (src/lib/analytics/request-metrics.ts), when REQUEST_METRICS is on. */
  record(c: Context<AppEnv>, started: number): void;
}

/**
 * Runs first, so that even errors from the gateway's proxy are logged with the request id. Every header goes
 * straight onto the finished response: `c.header()` after the response exists would copy the whole response for
 * each one, and touching `c.res` before `next()` makes Hono build a response up front and copy the handler's into it.
 */
export function requestEnvelope<Match extends { elsewhere: boolean }>(
  parts: EnvelopeParts<Match>,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const config = getConfig(c.env);
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const log = createLogger(config.logLevel, { requestId }, config.logBatchLines);
    c.set("config", config);
    c.set("requestId", requestId);
    c.set("log", log);

    const match = parts.routed(c);
    // Paths under the old gateway's prefixes keep its CORS policy; /v1 is always Tessera's own.
    const cors = match !== undefined && !c.req.path.startsWith("/v1/") ? LEGACY_CORS : API_CORS;
    const origin = c.req.header("origin") || "";
    const allowOrigin = cors.allowOrigin(origin, config.corsOrigins);
    const preflighting = c.req.method === "OPTIONS";
    if (preflighting) {
      // A preflight answers here: no route, no secure headers (as Hono's cors() in front of them did).
      c.res = preflight(cors, allowOrigin);
    } else {
      if (match?.elsewhere) {
        try {
          const proxied = await parts.proxy(c, match);
          if (proxied) c.res = proxied;
          else await next();
        } catch (err) {
          // What Hono's chain does for an error thrown in a middleware, so the envelope below still runs.
          c.res = await onError(err instanceof Error ? err : new Error(String(err)), c);
        }
      } else {
        await next();
      }
    }

    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const timing = `total;dur=${durationMs}`;
    onFinishedHeaders(c, (headers) => {
      if (!preflighting) {
        for (const [name, value] of SECURE_HEADERS) headers.set(name, value);
        if (headers.get("content-type")?.startsWith("text/html")) {
          for (const [name, value] of DOCUMENT_HEADERS) headers.set(name, value);
        }
        if (!headers.has("content-security-policy")) headers.set("Content-Security-Policy", API_CSP);
        if (allowOrigin) headers.set("Access-Control-Allow-Origin", allowOrigin);
        headers.set("Access-Control-Expose-Headers", cors.exposeHeaders);
        if (cors.varyOrigin) headers.append("Vary", "Origin");
      }
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
    if (config.requestMetrics) parts.record(c, started);
  };
}

/**
 * Edits the finished response's headers in place. Only a response whose headers are immutable (one passed through
 * as fetched) is copied first.
 */
function onFinishedHeaders(c: Context<AppEnv>, edit: (headers: Headers) => void): void {
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
  allowOrigin(origin: string, configured: readonly string[]): string | null;
  /** Whether the answer depends on Origin (every policy but "any origin"). */
  varyOrigin: boolean;
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge?: number;
}

/** The preflight answer of Hono's `cors()`: same headers, with the policy's strings joined once. */
function preflight(policy: CorsPolicy, allowOrigin: string | null): Response {
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

/** /v1 and Tessera's own routes: the origins in CORS_ORIGINS (a list, or "*"). */
const API_CORS: CorsPolicy = {
  allowOrigin: (origin, configured) => {
    if (configured.includes("*")) return origin || "*";
    return configured.includes(origin) ? origin : null;
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
};

/** The legacy prefixes keep the old gateway's policy (any origin, X-User-ID allowed) so old browser clients work. */
const LEGACY_CORS: CorsPolicy = {
  allowOrigin: () => "*",
  varyOrigin: false,
  allowMethods: "GET,POST,PUT,DELETE,OPTIONS",
  allowHeaders: "Content-Type,Authorization,X-User-ID,X-Request-Id",
  exposeHeaders: "X-Request-Id,Retry-After",
};

/**
 * An API answers JSON: nothing in it may load or frame anything. A page (/docs, /admin) sets its own
 * Content-Security-Policy, which is kept; every other response gets the API's.
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * What every answer carries: the headers that act on any response, a JSON body included (OWASP's REST Security Cheat
 * Sheet; docs/security.md "Response headers"): HSTS for two years, no MIME sniffing, no framing in older browsers
 * (the CSP's frame-ancestors in newer ones), no cross-site loading of the body, and no referrer.
 */
export const SECURE_HEADERS: [string, string][] = [
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Cross-Origin-Resource-Policy", "same-site"],
  // Also acts on a redirect: the next hop gets no referrer.
  ["Referrer-Policy", "no-referrer"],
];

/**
 * What an HTML page carries besides (the rest of Hono's `secureHeaders()` defaults): these act only on a document a
 * browser renders, so a JSON answer does not pay for them (about 0.7 µs of CPU and 30 bytes each, per response).
 */
export const DOCUMENT_HEADERS: [string, string][] = [
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];
