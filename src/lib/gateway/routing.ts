// The gateway's front door for the route table: a prefix served elsewhere is proxied before any local
// route sees it; a local prefix falls through to Tessera's own routes.
import type { Context, MiddlewareHandler } from "hono";
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

export function gatewayRouting(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = matchRoute(routeTable(c.env), c.req.path);
    const target = match?.route.target;
    if (!match || !target || target.kind === "local") return next();
    if (target.kind === "unconfigured") {
      throw new ApiError(
        "unavailable",
        `The ${target.name} service (${match.route.prefix}) has not moved to Tessera and has no upstream configured in GATEWAY_ROUTES`,
      );
    }
    const principal = await callerFor(c, target.upstream);
    // Sticky: the same caller lands on the same side of a split, so a session never flips between versions.
    if (target.kind === "split" && bucketOf(principal?.sub ?? clientIp(c)) >= target.percent) return next();
    await enforceRequestLimit(c, principal?.sub);
    await storedUpstreamHealth(c.env);
    return proxyRequest(c, {
      upstream: target.upstream,
      rest: match.rest,
      principal,
      maxBodyBytes: c.get("config").gatewayMaxBodyBytes,
    });
  };
}
