// The proxy to services not migrated yet: streams both bodies, passes WebSocket upgrades, sets the
// forwarding headers and the verified user, and keeps a circuit breaker per upstream.
import type { Context } from "hono";
import type { Principal } from "../identity/auth";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { clientIp } from "../platform/rate-limit";
import { breakerFor, type CircuitBreaker } from "./breaker";
import type { Upstream } from "./route-table";

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the non-standard ones proxies traditionally drop. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "proxy-connection",
];
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

function stripHopByHop(headers: Headers, keepUpgrade: boolean): void {
  const named = (headers.get("connection") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h && !(keepUpgrade && h === "upgrade"));
  for (const name of [...HOP_BY_HOP, ...named]) headers.delete(name);
  if (!keepUpgrade) headers.delete("upgrade");
}

/** `x-user-id`, `X_User_Id`, `x-userid`…: names a WSGI/CGI upstream may read as X-User-ID (case, `-`, `_` ignored). */
function looksLikeUserId(name: string): boolean {
  return name.toLowerCase().replace(/[-_]/g, "") === "xuserid";
}

export function upstreamHeaders(
  c: Context<AppEnv>,
  principal: Principal | undefined,
  isUpgrade: boolean,
  upstream: Pick<Upstream, "forwardAuthorization">,
  incoming: URL = new URL(c.req.url),
): Headers {
  const headers = new Headers(c.req.raw.headers);
  stripHopByHop(headers, isUpgrade);
  if (isUpgrade) headers.set("connection", "Upgrade");
  headers.delete("host");
  // Identity comes from the verified token only; whatever the client claimed, under any spelling, is gone.
  for (const name of [...headers.keys()]) if (looksLikeUserId(name)) headers.delete(name);
  if (principal) headers.set("X-User-ID", principal.sub);
  // The caller's own token is theirs: an upstream gets it only where its route says so (forwardAuthorization).
  if (!upstream.forwardAuthorization) headers.delete("authorization");
  // Only the address this Worker saw: a client-sent X-Forwarded-For is replaced, never extended.
  headers.delete("x-forwarded-for");
  headers.set("X-Forwarded-For", clientIp(c));
  headers.set("X-Forwarded-Proto", incoming.protocol.replace(":", ""));
  headers.set("X-Forwarded-Host", incoming.host);
  headers.set("X-Request-Id", c.get("requestId"));
  return headers;
}

/** Counts a streamed request body and fails it past `limit` bytes. */
function limitedBody(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new BodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}

class BodyTooLarge extends Error {}

interface ProxyOptions {
  upstream: Upstream;
  /** The path after the prefix, with a leading slash. */
  rest: string;
  principal: Principal | undefined;
  maxBodyBytes: number;
}

function responseFrom(upstream: Response): Response {
  if (upstream.webSocket) return upstream; // a 101 carries its socket; headers must stay as they are
  const headers = new Headers(upstream.headers);
  stripHopByHop(headers, false);
  // X-Powered-By never leaves (docs/security.md); an upstream is the only place it could come from.
  headers.delete("x-powered-by");
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}

async function attempt(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    // The timeout covers the wait for response headers; a body that then streams slowly is the client's to wait for.
    return await fetch(url, { ...init, signal: controller.signal });
  } catch (err) {
    // The runtime's abort error varies; whether our timer fired does not.
    throw controller.signal.aborted ? new UpstreamTimeout() : err;
  } finally {
    clearTimeout(timer);
  }
}

class UpstreamTimeout extends Error {}

function unavailable(breaker: CircuitBreaker, name: string, why: string): ApiError {
  return new ApiError("unavailable", `The ${name} service is unavailable: ${why}`, {
    headers: { "Retry-After": String(breaker.retryAfterSeconds()) },
  });
}

export async function proxyRequest(c: Context<AppEnv>, opts: ProxyOptions): Promise<Response> {
  const { upstream } = opts;
  const breaker = breakerFor(upstream.name, c.get("config").gatewayBreaker);
  if (!breaker.allow()) throw unavailable(breaker, upstream.name, "circuit open after repeated failures");

  const method = c.req.method;
  const isUpgrade = (c.req.header("upgrade") ?? "").toLowerCase() === "websocket";
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > opts.maxBodyBytes) {
    breaker.served(); // the upstream was not involved; keep the probe slot free
    throw new ApiError("payload_too_large", `Request body exceeds the limit of ${opts.maxBodyBytes} bytes`);
  }
  const body =
    c.req.raw.body && method !== "GET" && method !== "HEAD" ? limitedBody(c.req.raw.body, opts.maxBodyBytes) : null;
  const incoming = new URL(c.req.url);
  const url = `${upstream.url}${opts.rest}${incoming.search}`;
  const init: RequestInit = {
    method,
    headers: upstreamHeaders(c, opts.principal, isUpgrade, upstream, incoming),
    body,
    redirect: "manual",
  };

  // A connection failure is retried once, only where repeating cannot do harm: idempotent and bodiless.
  const retryable = IDEMPOTENT.has(method) && body === null;
  let response: Response | undefined;
  for (let tries = 0; !response; tries++) {
    try {
      response = await attempt(url, init, upstream.timeoutMs);
    } catch (err) {
      if (err instanceof BodyTooLarge || (err instanceof Error && err.cause instanceof BodyTooLarge)) {
        breaker.served();
        throw new ApiError("payload_too_large", `Request body exceeds the limit of ${opts.maxBodyBytes} bytes`);
      }
      if (err instanceof UpstreamTimeout) {
        breaker.failure();
        throw new ApiError("timeout", `The ${upstream.name} service did not answer within ${upstream.timeoutMs} ms`);
      }
      if (retryable && tries === 0) continue;
      breaker.failure();
      throw unavailable(breaker, upstream.name, "connection failed");
    }
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) breaker.failure();
  else breaker.served(Date.now(), response.status >= 500);
  return responseFrom(response);
}
