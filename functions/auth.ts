// /v1/auth: register, login, refresh, logout, the caller's own account, and the first admin.
import { z } from "zod";
import { db } from "../src/lib/db/client";
import {
  Email,
  LoginBody,
  login,
  Metadata,
  Password,
  RegisterBody,
  register,
  type SignedIn,
  Username,
  updateOwnAccount,
} from "../src/lib/identity/account";
import { principal, sessionUser } from "../src/lib/identity/auth";
import { bootstrapAdmin } from "../src/lib/identity/bootstrap";
import { signAccessToken } from "../src/lib/identity/jwt";
import { hashPassword, verifyPassword } from "../src/lib/identity/passwords";
import {
  revokeSession,
  revokeUserSessions,
  revokeUserSessionsAfter,
  rotateRefreshToken,
} from "../src/lib/identity/sessions";
import { passwordHashOf, UserSchema, updatePasswordHash } from "../src/lib/identity/users";
import { ApiError } from "../src/lib/platform/errors";
import { clientIp, enforceLimits } from "../src/lib/platform/rate-limit";
import { ApiRouter } from "../src/lib/platform/router";

export const TokensSchema = z.object({
  user: UserSchema,
  tokenType: z.literal("Bearer"),
  accessToken: z.string(),
  expiresAt: z.string().describe("When the access token expires (RFC 3339)"),
  refreshToken: z.string().describe("Opaque; single use: each refresh returns a new one"),
  refreshExpiresAt: z.string(),
});

function tokensBody(s: SignedIn) {
  return {
    user: s.user,
    tokenType: "Bearer" as const,
    accessToken: s.accessToken,
    expiresAt: s.expiresAt.toISOString(),
    refreshToken: s.session.refreshToken,
    refreshExpiresAt: s.session.refreshExpiresAt.toISOString(),
  };
}

export const authService = new ApiRouter("auth")
  .route(
    {
      method: "post",
      path: "/register",
      auth: "public",
      summary: "Create an account and sign in",
      body: RegisterBody,
      responses: { 201: { description: "Signed in", schema: TokensSchema } },
    },
    async (c, { body }) => c.json(tokensBody(await register(c, body)), 201),
  )
  .route(
    {
      method: "post",
      path: "/login",
      auth: "public",
      summary: "Sign in with username (or email) and password",
      body: LoginBody,
      responses: { 200: { description: "Signed in", schema: TokensSchema } },
    },
    async (c, { body }) => c.json(tokensBody(await login(c, body))),
  )
  .route(
    {
      method: "post",
      path: "/refresh",
      auth: "public",
      summary: "Exchange a refresh token for new tokens (the old one is spent)",
      description:
        "Presenting a spent refresh token again revokes its whole session, except within a short grace window in which a concurrent retry receives the same new token.",
      body: z.object({ refreshToken: z.string().min(1).max(200) }).strict(),
      responses: { 200: { description: "New tokens", schema: TokensSchema } },
    },
    async (c, { body }) => {
      await enforceLimits(c, [["refreshPerIp", clientIp(c)]]);
      const database = db(c.env);
      const { user, ...rotated } = await rotateRefreshToken(database, body.refreshToken);
      const { token, expiresAt } = await signAccessToken(c.env, {
        sub: user.id,
        username: user.username,
        roles: user.roles,
        sid: rotated.sessionId,
      });
      return c.json(tokensBody({ user, session: rotated, accessToken: token, expiresAt }));
    },
  )
  .route(
    {
      method: "post",
      path: "/logout",
      auth: "user",
      summary: "End this session (its refresh tokens stop working)",
      responses: { 204: { description: "Signed out" } },
    },
    async (c) => {
      await revokeSession(db(c.env), principal(c).sid, "logout");
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "post",
      path: "/logout-all",
      auth: "session",
      summary: "End every session of this user, this one included",
      responses: { 200: { description: "Sessions ended", schema: z.object({ revokedSessions: z.number() }) } },
    },
    async (c) => c.json({ revokedSessions: await revokeUserSessions(db(c.env), principal(c).sub, "logout-all") }),
  )
  .route(
    {
      method: "get",
      path: "/me",
      auth: "session",
      summary: "The signed-in user",
      responses: { 200: { description: "The user", schema: UserSchema } },
    },
    (c) => c.json(sessionUser(c)),
  )
  .route(
    {
      method: "patch",
      path: "/me",
      auth: "session",
      summary: "Change your email or metadata (never roles or active)",
      body: z.object({ email: Email.optional(), metadata: Metadata.optional() }).strict(),
      responses: { 200: { description: "The updated user", schema: UserSchema } },
    },
    async (c, { body }) => c.json(await updateOwnAccount(c, principal(c).sub, body)),
  )
  .route(
    {
      method: "post",
      path: "/password",
      auth: "session",
      summary: "Change your password; every other session is signed out",
      body: z.object({ currentPassword: z.string().min(1).max(256), newPassword: Password }).strict(),
      responses: { 200: { description: "Changed", schema: z.object({ revokedSessions: z.number() }) } },
    },
    async (c, { body }) => {
      const me = principal(c);
      await enforceLimits(c, [["passwordChangePerUser", me.sub]]);
      const database = db(c.env);
      const stored = await passwordHashOf(database, me.sub);
      const check = stored ? await verifyPassword(body.currentPassword, stored) : { ok: false };
      if (!check.ok) throw new ApiError("forbidden", "The current password is incorrect");
      const newHash = updatePasswordHash(database, me.sub, await hashPassword(body.newPassword));
      const [, revoked] = await revokeUserSessionsAfter(database, newHash, me.sub, "password changed", me.sid);
      return c.json({ revokedSessions: revoked });
    },
  )
  .route(
    {
      method: "post",
      path: "/bootstrap",
      auth: "public",
      summary: "Create the first admin with the one-time ADMIN_BOOTSTRAP_TOKEN",
      description:
        "Works only while no admin exists. Send the token as `Authorization: Bearer <ADMIN_BOOTSTRAP_TOKEN>`.",
      body: RegisterBody.omit({ metadata: true }).extend({ username: Username }),
      responses: { 201: { description: "The admin, signed in", schema: TokensSchema } },
    },
    async (c, { body }) => c.json(tokensBody(await bootstrapAdmin(c, body)), 201),
  );
