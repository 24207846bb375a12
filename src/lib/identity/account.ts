// Account flows shared by the /v1 auth API and the legacy /api/auth adapter: one implementation, two shapes.
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { noticeLoginAddress } from "../notifications/login-address";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { clientIp, enforceLimits } from "../platform/rate-limit";
import { signAccessToken } from "./jwt";
import {
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyAgainstDummy,
  verifyPassword,
} from "./passwords";
import { type IssuedSession, sessionInserts } from "./sessions";
import {
  findLoginCandidate,
  insertUser,
  type PublicUser,
  requireUserById,
  toPublicUser,
  updatePasswordHash,
  updateUser,
  withUserConflicts,
} from "./users";

/** Metadata is the user's own small JSON object; 8 KiB keeps a row small and a token lookup cheap. */
const METADATA_MAX_BYTES = 8 * 1024;

export const Username = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-', starting with a letter or digit");
export const Email = z.string().trim().max(254).pipe(z.email());
export const Password = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);
export const Metadata = z
  .record(z.string().max(128), z.unknown())
  .refine((m) => new TextEncoder().encode(JSON.stringify(m)).byteLength <= METADATA_MAX_BYTES, {
    message: `metadata must be at most ${METADATA_MAX_BYTES} bytes as JSON`,
  });
export const Role = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z][a-z0-9_-]*$/);

/** What an admin may change on a user (both admin APIs). */
export const AdminUserPatch = z
  .object({
    roles: z.array(Role).min(1).max(16).optional(),
    active: z.boolean().optional(),
    email: Email.optional(),
    metadata: Metadata.optional(),
  })
  .strict();

export const RegisterBody = z
  .object({ username: Username, email: Email, password: Password, metadata: Metadata.optional() })
  .strict();
export const LoginBody = z
  .object({ username: z.string().trim().min(1).max(254), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) })
  .strict();

export interface SignedIn {
  user: PublicUser;
  session: IssuedSession;
  accessToken: string;
  expiresAt: Date;
}

function sessionMeta(c: Context<AppEnv>) {
  return { userAgent: c.req.header("user-agent"), ip: clientIp(c) };
}

/** Signs in an existing user by id (after a bootstrap, for instance). */
export async function signInUser(c: Context<AppEnv>, userId: string): Promise<SignedIn> {
  return signIn(c, await requireUserById(db(c.env), userId));
}

/**
 * A new session for `user` and its access token. `before` are statements that must commit with the session (a
 * rehashed password): one batch, one round trip to the database.
 */
async function signIn(c: Context<AppEnv>, user: PublicUser, before?: BatchItem<"pg">): Promise<SignedIn> {
  const database = db(c.env);
  const { statements, issued: session } = await sessionInserts(database, user.id, sessionMeta(c));
  await (before ? database.batch([before, ...statements]) : database.batch(statements));
  return { user, session, ...(await accessTokenFor(c, user, session)) };
}

async function accessTokenFor(
  c: Context<AppEnv>,
  user: PublicUser,
  session: IssuedSession,
): Promise<{ accessToken: string; expiresAt: Date }> {
  const { token, expiresAt } = await signAccessToken(c.env, {
    sub: user.id,
    username: user.username,
    roles: user.roles,
    sid: session.sessionId,
  });
  return { accessToken: token, expiresAt };
}

/**
 * The caller's own e-mail or metadata (PATCH /v1/auth/me, legacy PUT /api/auth/profile). A new e-mail is limited per
 * user: its 409 says that the address is taken, so changes must be too slow to enumerate addresses with.
 */
export async function updateOwnAccount(
  c: Context<AppEnv>,
  userId: string,
  patch: { email?: string; metadata?: Record<string, unknown> },
): Promise<PublicUser> {
  if (patch.email !== undefined) await enforceLimits(c, [["emailChangePerUser", userId]]);
  return updateUser(db(c.env), userId, patch);
}

export async function register(c: Context<AppEnv>, input: z.output<typeof RegisterBody>): Promise<SignedIn> {
  await enforceLimits(c, [["registerPerIp", clientIp(c)]]);
  const database = db(c.env);
  // The user, its session and the session's first refresh token: one batch (one transaction, one round trip).
  const id = crypto.randomUUID();
  const newUser = insertUser(database, {
    id,
    username: input.username,
    email: input.email,
    passwordHash: await hashPassword(input.password),
    metadata: input.metadata ?? {},
  });
  const { statements, issued: session } = await sessionInserts(database, id, sessionMeta(c));
  const [[row]] = await withUserConflicts(() => database.batch([newUser, ...statements]));
  if (!row) throw new Error("registration inserted no user row");
  const user = toPublicUser(row);
  return { user, session, ...(await accessTokenFor(c, user, session)) };
}

const badCredentials = () => new ApiError("unauthorized", "Invalid username or password");

/**
 * Unknown user and wrong password fail alike and take about as long (a dummy hash is checked);
 * an inactive account is revealed only to someone who knows its password.
 */
export async function login(c: Context<AppEnv>, input: z.output<typeof LoginBody>): Promise<SignedIn> {
  const loginName = input.username.toLowerCase();
  const ip = clientIp(c);
  await enforceLimits(c, [["loginPerIp", ip]]);
  const database = db(c.env);
  const candidate = await findLoginCandidate(database, loginName);
  // Per account, not per name typed: the username and the e-mail spend one bucket. A name with no account is
  // limited under itself, so the answer is the same whether or not it exists.
  const account = candidate ? `user:${candidate.user.id}` : `name:${loginName}`;
  await enforceLimits(c, [
    ["loginPerAddressAccount", `${ip}|${account}`],
    ["loginPerAccount", account],
  ]);
  if (!candidate) {
    await verifyAgainstDummy(input.password);
    throw badCredentials();
  }
  const check = await verifyPassword(input.password, candidate.passwordHash);
  if (!check.ok) throw badCredentials();
  if (!candidate.user.active) throw new ApiError("forbidden", "This account is disabled");
  // Imported bcrypt hashes and older parameters are replaced on the first successful login, in the session's batch.
  const rehash = check.needsRehash
    ? updatePasswordHash(database, candidate.user.id, await hashPassword(input.password))
    : undefined;
  const signedIn = await signIn(c, candidate.user, rehash);
  // After the answer: a sign-in from an address new to this account notifies its owner (docs/notifications.md).
  c.executionCtx.waitUntil(
    noticeLoginAddress(c.env, c.executionCtx, {
      userId: candidate.user.id,
      sessionId: signedIn.session.sessionId,
      ip,
    }),
  );
  return signedIn;
}
