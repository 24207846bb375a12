// Who may call a route. Every route declares its access; this module enforces it with the public keys
// (imported once per isolate by jwt.ts) and, where a revocation must bite at once, the session table.
import type { Context } from "hono";
import { db } from "../db/client";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { type AccessClaims, verifyAccessToken } from "./jwt";
import { forgetSession, recallLiveSession, rememberLiveSession } from "./live-session-memory";
import { isServiceSecret, type ServiceCaller, type ServiceScope, verifyServiceSecret } from "./service-credentials";
import { liveSessionUser } from "./sessions";
import type { PublicUser } from "./users";

/**
 * - "public": anyone;
 * - "user" and "session": a valid access token whose session is live and whose user is active: a deleted,
 *   deactivated or signed-out user's unexpired token writes nothing and reads nothing (docs/security.md "Live
 *   sessions"). "session" asks the database on every request; "user" believes this isolate's answer for up to
 *   SESSION_MEMORY_MS (live-session-memory.ts), so a KV read does not cost a database round trip;
 * - { role }: like "session", and the user's current roles (from the database, not the token) include it;
 * - { scope, orRole? }: a service credential (`tsc_…`, docs/service-credentials.md) holding the scope, or,
 *   where orRole is set, a user as { role: orRole } would admit. Only these routes take a credential, and a
 *   credential is never taken for a user: it is not a JWT, so the token check above refuses it;
 * - a CredentialAccess: a credential of another kind, checked by the module that owns it (a GPU worker's
 *   credential, src/lib/jobs/worker-credential.ts; a hub socket's token or ticket, src/lib/hub/connect.ts).
 */
type UserAccess = "user" | "session" | { role: string };
/** `orUser`: or any signed-in user, checked as "user", for routes every user may call. */
type ServiceAccess = { scope: ServiceScope; orRole?: string; orUser?: true };
export type Access = "public" | UserAccess | ServiceAccess | CredentialAccess;

/** An OpenAPI security scheme object (`{type: "http", scheme: "bearer"}`, `{type: "apiKey", in, name}`). */
export type SecurityScheme = Readonly<Record<string, string>>;

/**
 * A kind of credential that is not a user's access token. The router calls `verify` before it reads any input
 * (it throws the 401 or 403, and leaves what it learnt on the context for the handler); the request limit then
 * applies per address, as on a public route. `/openapi.json` lists `schemes` as the alternatives that satisfy
 * it, with `note` in the operation's description.
 */
export interface CredentialAccess {
  readonly credential: string;
  readonly note: string;
  readonly schemes: Readonly<Record<string, SecurityScheme>>;
  verify(c: Context<AppEnv>): Promise<void>;
}

/** The scheme of a user's access token (`Authorization: Bearer <JWT>`). */
export const USER_BEARER_SCHEME: Readonly<Record<string, SecurityScheme>> = {
  bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
};

export function isCredentialAccess(access: Access): access is CredentialAccess {
  return typeof access === "object" && "credential" in access;
}

export type Principal = AccessClaims;

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

export function bearerToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return undefined;
  const match = BEARER.exec(header);
  if (!match?.[1]) throw new ApiError("unauthorized", "Authorization must be 'Bearer <access token>'");
  return match[1];
}

async function verified(c: Context<AppEnv>): Promise<Principal> {
  const cached = c.get("principal");
  if (cached) return cached;
  const token = bearerToken(c);
  if (!token) {
    throw new ApiError("unauthorized", "Authentication required", { headers: { "WWW-Authenticate": "Bearer" } });
  }
  const claims = await verifyAccessToken(c.env, token);
  c.set("principal", claims);
  return claims;
}

/** Who called a route: a user's claims, or a service credential (only on { scope } routes). */
type Caller = Principal | (ServiceCaller & { sub: string });

function isServiceAccess(access: Access): access is ServiceAccess {
  return typeof access === "object" && "scope" in access;
}

/** A { scope } route: a credential with the scope, or a user with `orRole`. */
async function authorizeService(c: Context<AppEnv>, access: ServiceAccess): Promise<Caller> {
  const token = bearerToken(c);
  if (token && isServiceSecret(token)) {
    const service = await verifyServiceSecret(c.env, token);
    if (!service) throw new ApiError("unauthorized", "The service credential is unknown or revoked");
    if (!service.scopes.includes(access.scope)) {
      throw new ApiError("forbidden", `Requires a credential with the '${access.scope}' scope`);
    }
    c.set("service", service);
    // The rate limit keys on `sub`; a credential's id ("svc_…") never collides with a user's.
    return { ...service, sub: service.id };
  }
  if (access.orRole) return (await authorize(c, { role: access.orRole })) as Principal;
  if (access.orUser) return (await authorize(c, "user")) as Principal;
  throw new ApiError("unauthorized", `Requires a service credential with the '${access.scope}' scope`, {
    headers: { "WWW-Authenticate": "Bearer" },
  });
}

/** Enforces `access` and returns the caller, or undefined on a public route. */
export async function authorize(c: Context<AppEnv>, access: "public" | UserAccess): Promise<Principal | undefined>;
export async function authorize(c: Context<AppEnv>, access: Access): Promise<Caller | undefined>;
export async function authorize(c: Context<AppEnv>, access: Access): Promise<Caller | undefined> {
  if (access === "public") return undefined;
  if (isCredentialAccess(access)) {
    await access.verify(c);
    return undefined;
  }
  if (isServiceAccess(access)) return authorizeService(c, access);
  const principal = await verified(c);
  // "user" routes may believe this isolate's recent answer; the others always ask (live-session-memory.ts).
  let live = access === "user" ? recallLiveSession(principal.sid, principal.sub) : undefined;
  if (!live) {
    live = await liveSessionUser(db(c.env), principal.sid, principal.sub);
    if (!live) {
      forgetSession(principal.sid);
      throw new ApiError("unauthorized", "Session revoked or user inactive");
    }
    rememberLiveSession(principal.sid, live);
  }
  if (typeof access === "object" && !live.roles.includes(access.role)) {
    throw new ApiError("forbidden", `Requires the '${access.role}' role`);
  }
  // Later code sees the roles as they are now, not as they were when the token was signed.
  const current = { ...principal, roles: live.roles, username: live.username };
  c.set("principal", current);
  c.set("sessionUser", live);
  return current;
}

/** The caller's user row, read by authorize() on a "session" or role route (so no second query is needed). */
export function sessionUser(c: Context<AppEnv>): PublicUser {
  const user = c.get("sessionUser");
  if (!user) throw new Error("sessionUser() on a route that does not check the session");
  return user;
}

/** The caller on a route that declared an access other than "public". */
export function principal(c: Context<AppEnv>): Principal {
  const p = c.get("principal");
  if (!p) throw new ApiError("unauthorized", "Authentication required");
  return p;
}
