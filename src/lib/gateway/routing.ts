// The gateway's front door for the route table: a prefix served elsewhere is proxied (by the request envelope,
// src/lib/platform/middleware.ts) before any local route sees it; a local prefix falls through to Tessera's own
// routes.
import type { Context } from "hono";
import { authorize, bearerToken, type Principal } from "../identity/auth";
import type { AppEnv, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { clientIp, enforceRequestLimit } from "../platform/rate-limit";
import { proxyRequest } from "./proxy";
import { buildRouteTable, type GatewayRoute, matchRoute, type Upstream } from "./route-table";
import { storedUpstreamHealth } from "./upstream-health";

const tables = new WeakMap<Env, GatewayRoute[]>();

/** The table, parsed once per isolate; a bad GATEWAY_ROUTES fails every request loudly rather than routing wrongly. */
export function routeTable(env: Env): GatewayRoute[] {
  let table = tables.get(env);
  if (!table) {
    table = buildRouteTable(env.GATEWAY_ROUTES);
    tables.set(env, table);
  }
  return table;
}

/** FNV-1a: a cheap, stable spread of callers over 0–99 for weighted splits. */
function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 100;
}

async function callerFor(c: Context<AppEnv>, upstream: Upstream): Promise<Principal | undefined> {
  if (upstream.auth === "user") return authorize(c, "user");
  // Public upstream routes: a token is optional, but one that is sent must be valid.
  return bearerToken(c) ? authorize(c, "user") : undefined;
}

/** The route-table entry a request's path falls under, if any; `elsewhere` when it is not served by Tessera. */
export interface GatewayMatch {
  route: GatewayRoute;
  rest: string;
  elsewhere: boolean;
}

/** Matched once per request (the envelope uses it for both the CORS policy and the proxy). */
export function routedMatch(c: Context<AppEnv>): GatewayMatch | undefined {
  const match = matchRoute(routeTable(c.env), c.req.path);
  if (!match) return undefined;
  const target = match.route.target;
  return { ...match, elsewhere: target !== undefined && target.kind !== "local" };
}

/**
 * The upstream's answer for a prefix served elsewhere, or undefined when this caller stays on Tessera's own
 * routes (the local side of a split). Throws the gateway's errors (unconfigured prefix, limits, upstream health).
 */
export async function proxyRouted(c: Context<AppEnv>, match: GatewayMatch): Promise<Response | undefined> {
  const target = match.route.target;
  if (!target || target.kind === "local") return undefined;
  if (target.kind === "unconfigured") {
    throw new ApiError(
      "unavailable",
      `The ${target.name} service (${match.route.prefix}) has not moved to Tessera and has no upstream configured in GATEWAY_ROUTES`,
    );
  }
  const principal = await callerFor(c, target.upstream);
  // Sticky: the same caller lands on the same side of a split, so a session never flips between versions.
  if (target.kind === "split" && bucketOf(principal?.sub ?? clientIp(c)) >= target.percent) return undefined;
  await enforceRequestLimit(c, principal?.sub);
  await storedUpstreamHealth(c.env);
  return proxyRequest(c, {
    upstream: target.upstream,
    rest: match.rest,
    principal,
    maxBodyBytes: c.get("config").gatewayMaxBodyBytes,
  });
}
