// /api/auth: the old Go/Rust auth services' routes and shapes (both the root simple-auth and go-services/auth-service
// generations), over the same flows as /v1/auth. Their bugs are not kept: no seeded users, no self-assigned roles, no
// static API keys, errors in the one error shape (docs/legacy.md).
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import {
  AdminUserPatch,
  Email,
  LoginBody,
  login,
  Metadata,
  RegisterBody,
  register,
  type SignedIn,
  updateOwnAccount,
} from "../../src/lib/identity/account";
import { principal, sessionUser } from "../../src/lib/identity/auth";
import { signAccessToken } from "../../src/lib/identity/jwt";
import { revokeSession } from "../../src/lib/identity/sessions";
import { adminDeleteUser, adminUpdateUser } from "../../src/lib/identity/user-admin";
import { countActiveUsers, listUsers, requireUserById, UserSchema } from "../../src/lib/identity/users";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";

const ADMIN = { role: "admin" } as const;
// Set on the first request: workerd's clock does not run while the module is being loaded.
let startedAt: number | undefined;
let requestsSeen = 0;

const LegacyTokens = z.object({ token: z.string(), user: UserSchema, expires_at: z.string() });
const legacyTokens = (s: SignedIn) => ({ token: s.accessToken, user: s.user, expires_at: s.expiresAt.toISOString() });
const IdParams = z.object({ id: z.uuid() });
/** auth-service signed in by `{email, password}`, simple-auth by `{username, password}`: either names the account. */
const LegacyLogin = z.union([
  LoginBody,
  z
    .object({ email: LoginBody.shape.username, password: LoginBody.shape.password })
    .strict()
    .transform(({ email, password }) => ({ username: email, password })),
]);
const LegacyUser = z.object({ id: z.string(), email: z.string(), username: z.string() });

/** A legacy auth router that counts its requests for the health route's `total_requests`. */
function countedRouter(tag: string): ApiRouter {
  const router = new ApiRouter(tag);
  router.app.use("*", async (_c, next) => {
    startedAt ??= Date.now();
    requestsSeen++;
    await next();
  });
  return router;
}

/** POST /register: simple-auth answered 201, auth-service 200; the same account either way. */
function withRegister(router: ApiRouter, status: 200 | 201, summary: string): ApiRouter {
  return router.route(
    {
      method: "post",
      path: "/register",
      auth: "public",
      summary,
      body: RegisterBody,
      responses: { [status]: { description: "Created", schema: LegacyTokens } },
    },
    async (c, { body }) => c.json(legacyTokens(await register(c, body)), status),
  );
}

/** The routes both generations share (each router adds its own register). */
function withSharedRoutes(router: ApiRouter): ApiRouter {
  return router
    .route(
      {
        method: "post",
        path: "/login",
        auth: "public",
        summary: "Legacy: sign in with {username, password} or {email, password} → {token, user, expires_at}",
        body: LegacyLogin,
        responses: { 200: { description: "Signed in", schema: LegacyTokens } },
      },
      async (c, { body }) => c.json(legacyTokens(await login(c, body))),
    )
    .route(
      {
        method: "get",
        path: "/verify",
        auth: "session",
        summary: "Legacy: check a token (both generations' fields: user_id, roles and user {id, email, username})",
        responses: {
          200: {
            description: "Valid",
            schema: z.object({
              valid: z.literal(true),
              user_id: z.string(),
              expires_at: z.string(),
              roles: z.array(z.string()),
              user: LegacyUser,
            }),
          },
        },
      },
      (c) => {
        const p = principal(c);
        const user = sessionUser(c);
        return c.json({
          valid: true as const,
          user_id: p.sub,
          expires_at: new Date(p.exp * 1000).toISOString(),
          roles: p.roles,
          user: { id: user.id, email: user.email, username: user.username },
        });
      },
    )
    .route(
      {
        method: "get",
        path: "/verify-api-key",
        auth: "public",
        summary: "Legacy: check an X-API-Key (refused: Tessera issues no static user API keys)",
        description: "Always 401 in the error shape; sign in for a token instead (docs/legacy.md).",
        responses: { 401: { description: "No such key" } },
      },
      () => {
        throw new ApiError("unauthorized", "API keys are not issued; sign in at /api/auth/login for a bearer token");
      },
    )
    .route(
      {
        method: "post",
        path: "/refresh",
        auth: "session",
        summary: "Legacy: a fresh access token for the caller's live session → {token, expires_at}",
        description: "auth-service's refresh by bearer token; only while the session is live (logout ends it).",
        responses: {
          200: { description: "New token", schema: z.object({ token: z.string(), expires_at: z.string() }) },
        },
      },
      async (c) => {
        const user = sessionUser(c);
        const { token, expiresAt } = await signAccessToken(c.env, {
          sub: user.id,
          username: user.username,
          roles: user.roles,
          sid: principal(c).sid,
        });
        return c.json({ token, expires_at: expiresAt.toISOString() });
      },
    )
    .route(
      {
        method: "post",
        path: "/logout",
        auth: "user",
        summary: "Legacy: end this session → {success, message}",
        responses: {
          200: { description: "Signed out", schema: z.object({ success: z.literal(true), message: z.string() }) },
        },
      },
      async (c) => {
        await revokeSession(db(c.env), principal(c).sid, "logout");
        return c.json({ success: true as const, message: "Logged out successfully" });
      },
    )
    .route(
      {
        method: "get",
        path: "/profile",
        auth: "session",
        summary: "Legacy: the signed-in user",
        responses: { 200: { description: "The user", schema: UserSchema } },
      },
      (c) => c.json(sessionUser(c)),
    )
    .route(
      {
        method: "put",
        path: "/profile",
        auth: "session",
        summary: "Legacy: change email or metadata (roles and active are refused)",
        body: z.object({ email: Email.optional(), metadata: Metadata.optional() }).strict(),
        responses: { 200: { description: "The user", schema: UserSchema } },
      },
      async (c, { body }) => c.json(await updateOwnAccount(c, principal(c).sub, body)),
    )
    .route(
      {
        method: "get",
        path: "/users",
        auth: ADMIN,
        summary: "Legacy: list users (admin)",
        responses: { 200: { description: "Users", schema: z.array(UserSchema) } },
      },
      async (c) => c.json((await listUsers(db(c.env), { limit: 100 })).users),
    )
    .route(
      {
        method: "get",
        path: "/users/:id",
        auth: ADMIN,
        summary: "Legacy: get a user (admin)",
        params: IdParams,
        responses: { 200: { description: "The user", schema: UserSchema } },
      },
      async (c, { params }) => c.json(await requireUserById(db(c.env), params.id)),
    )
    .route(
      {
        method: "put",
        path: "/users/:id",
        auth: ADMIN,
        summary: "Legacy: update a user (admin)",
        params: IdParams,
        body: AdminUserPatch,
        responses: { 200: { description: "The user", schema: UserSchema } },
      },
      async (c, { params, body }) => c.json(await adminUpdateUser(c, params.id, body)),
    )
    .route(
      {
        method: "delete",
        path: "/users/:id",
        auth: ADMIN,
        summary: "Legacy: delete a user (admin; not yourself)",
        params: IdParams,
        responses: { 204: { description: "Deleted" } },
      },
      async (c, { params }) => {
        await adminDeleteUser(c, params.id);
        return c.body(null, 204);
      },
    );
}

/** /api/auth: simple-auth's routes and health, and auth-service's where they agree (docs/legacy.md). */
export const legacyAuthService = withSharedRoutes(
  withRegister(countedRouter("legacy auth"), 201, "Legacy: create an account → 201 {token, user, expires_at}"),
).route(
  {
    method: "get",
    path: "/health",
    auth: "public",
    summary: "Legacy (simple-auth): the auth service's health, with an RFC 3339 timestamp",
    description:
      "`uptime_seconds` and `total_requests` are this isolate's: a Worker has no single process. auth-service's " +
      "own shape is at `/auth-service/health` (docs/legacy.md).",
    responses: {
      200: {
        description: "Healthy",
        schema: z.object({
          status: z.literal("healthy"),
          service: z.literal("auth"),
          timestamp: z.string(),
          uptime_seconds: z.number(),
          active_users: z.number(),
          total_requests: z.number(),
        }),
      },
    },
  },
  async (c) =>
    c.json({
      status: "healthy" as const,
      service: "auth" as const,
      timestamp: new Date().toISOString(),
      uptime_seconds: Math.floor((Date.now() - (startedAt ?? Date.now())) / 1000),
      active_users: await countActiveUsers(db(c.env)),
      total_requests: requestsSeen,
    }),
);

/** /auth-service/auth: auth-service's own routes at its base path, register answering 200 as it did. */
export const authServiceAuth = withSharedRoutes(
  withRegister(
    countedRouter("legacy auth-service"),
    200,
    "Legacy (auth-service): create an account → 200 {token, user, expires_at}",
  ),
);

/** go-services/auth-service's `GET /health`, at its own base path /auth-service (its routes: /auth-service/auth/*). */
export const authServiceHealth = new ApiRouter("legacy auth-service").route(
  {
    method: "get",
    path: "/health",
    auth: "public",
    rateLimit: false,
    summary: "Legacy (auth-service): health named auth-service, with a unix timestamp",
    responses: {
      200: {
        description: "Healthy",
        schema: z.object({
          status: z.literal("healthy"),
          service: z.literal("auth-service"),
          timestamp: z.number().describe("Unix seconds"),
        }),
      },
    },
  },
  (c) =>
    c.json({
      status: "healthy" as const,
      service: "auth-service" as const,
      timestamp: Math.floor(Date.now() / 1000),
    }),
);
