// Sessions and their rotating refresh tokens (see the refresh_tokens table for the scheme).
import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { HttpDb } from "../db/client";
import { refreshTokens, sessions, users } from "../db/schema";
import { ApiError } from "../platform/errors";
import { forgetSession, forgetUserSessions } from "./live-session-memory";
import { hmacBase64url, randomToken, sha256Hex } from "./tokens";
import { foundUser, type PublicUser, publicColumns, toPublicUser, userById } from "./users";

/** A refresh token lives 30 days unless used; a session at most 90 days, however often it is refreshed. */
const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
const SESSION_MAX_AGE_SECONDS = 90 * 24 * 3600;
/** A token used again within this many seconds (a client's concurrent retry) gets the same successor. */
const REFRESH_REUSE_GRACE_SECONDS = 10;

const TOKEN_PREFIX = "rt_";

const secondsFromNow = (s: number) => new Date(Date.now() + s * 1000);

async function successorOf(token: string, nonce: string): Promise<string> {
  return `${TOKEN_PREFIX}${await hmacBase64url(token, nonce)}`;
}

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/**
 * A new session's two INSERTs (the session and its first refresh token) and what the client gets. They go in one
 * batch, alone (createSession) or after the statements that must precede them (registration: the user row), so a
 * sign-in is one round trip to the database.
 */
export async function sessionInserts(db: HttpDb, userId: string, meta: { userAgent?: string; ip?: string }) {
  const refreshToken = randomToken(TOKEN_PREFIX);
  const refreshExpiresAt = secondsFromNow(REFRESH_TOKEN_TTL_SECONDS);
  const sessionId = crypto.randomUUID();
  const statements = [
    db.insert(sessions).values({
      id: sessionId,
      userId,
      expiresAt: secondsFromNow(SESSION_MAX_AGE_SECONDS),
      userAgent: meta.userAgent?.slice(0, 256) ?? null,
      ip: meta.ip ?? null,
    }),
    db.insert(refreshTokens).values({
      sessionId,
      tokenHash: await sha256Hex(refreshToken),
      nonce: randomToken(""),
      expiresAt: refreshExpiresAt,
    }),
  ] as const;
  const issued: IssuedSession = { sessionId, refreshToken, refreshExpiresAt };
  return { statements, issued };
}

export async function createSession(
  db: HttpDb,
  userId: string,
  meta: { userAgent?: string; ip?: string },
): Promise<IssuedSession> {
  const { statements, issued } = await sessionInserts(db, userId, meta);
  // One batch is one transaction over SQL-over-HTTP: no session without its first token.
  await db.batch(statements);
  return issued;
}

interface Refreshed extends IssuedSession {
  /** Read with the token, so the new access token needs no second query for its claims. */
  user: PublicUser;
}

const invalidRefresh = () => new ApiError("unauthorized", "Invalid or expired refresh token");

/**
 * Rotates a refresh token. The first use marks it and stores its successor in one statement;
 * a use within the grace window returns that same successor; any later use is theft or a bug,
 * and revokes the whole session.
 */
export async function rotateRefreshToken(db: HttpDb, token: string): Promise<Refreshed> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) throw invalidRefresh();
  const tokenHash = await sha256Hex(token);
  const [row] = await db
    .select({
      id: refreshTokens.id,
      sessionId: refreshTokens.sessionId,
      nonce: refreshTokens.nonce,
      usedAt: refreshTokens.usedAt,
      expiresAt: refreshTokens.expiresAt,
      revokedAt: sessions.revokedAt,
      sessionExpiresAt: sessions.expiresAt,
      user: publicColumns,
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.tokenHash, tokenHash));
  const now = Date.now();
  if (
    !row ||
    row.revokedAt ||
    !row.user.active ||
    row.expiresAt.getTime() <= now ||
    row.sessionExpiresAt.getTime() <= now
  ) {
    throw invalidRefresh();
  }
  const successor = await successorOf(token, row.nonce);
  const successorHash = await sha256Hex(successor);
  const refreshExpiresAt = new Date(Math.min(now + REFRESH_TOKEN_TTL_SECONDS * 1000, row.sessionExpiresAt.getTime()));

  if (!row.usedAt) {
    // Marks this token used and inserts its successor atomically; only one concurrent caller's update matches.
    const result = await db.execute<{ id: string }>(sql`
      WITH used AS (
        UPDATE ${refreshTokens} SET used_at = now()
        WHERE ${refreshTokens.id} = ${row.id} AND ${refreshTokens.usedAt} IS NULL
        RETURNING session_id
      ), next AS (
        INSERT INTO ${refreshTokens} (session_id, token_hash, nonce, expires_at)
        SELECT session_id, ${successorHash}, ${randomToken("")}, ${refreshExpiresAt.toISOString()}::timestamptz FROM used
        RETURNING id
      ), touched AS (
        UPDATE ${sessions} SET last_used_at = now() WHERE ${sessions.id} = ${row.sessionId} AND EXISTS (SELECT 1 FROM used)
      )
      SELECT id FROM next`);
    if (result.rows.length === 1) {
      return { user: toPublicUser(row.user), sessionId: row.sessionId, refreshToken: successor, refreshExpiresAt };
    }
  }
  // Already used: a concurrent retry within the grace window gets the same successor, if that is still unused.
  // Both reads in one round trip.
  const [[used], [next]] = await db.batch([
    db.select({ usedAt: refreshTokens.usedAt }).from(refreshTokens).where(eq(refreshTokens.id, row.id)),
    db
      .select({ usedAt: refreshTokens.usedAt, expiresAt: refreshTokens.expiresAt })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, successorHash)),
  ]);
  const withinGrace = used?.usedAt && now - used.usedAt.getTime() <= REFRESH_REUSE_GRACE_SECONDS * 1000;
  if (withinGrace && next && !next.usedAt) {
    return {
      user: toPublicUser(row.user),
      sessionId: row.sessionId,
      refreshToken: successor,
      refreshExpiresAt: next.expiresAt,
    };
  }
  await revokeSession(db, row.sessionId, "refresh token reused");
  throw new ApiError("unauthorized", "Refresh token was already used; the session has been revoked");
}

function sessionRevocation(db: HttpDb, sessionId: string, reason: string) {
  return db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

export async function revokeSession(db: HttpDb, sessionId: string, reason: string): Promise<void> {
  await sessionRevocation(db, sessionId, reason);
  forgetSession(sessionId);
}

function userSessionsRevocation(db: HttpDb, userId: string, reason: string, keep?: string) {
  return db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? sql`${sessions.id} <> ${keep}` : undefined),
    )
    .returning({ id: sessions.id });
}

/** Revokes every live session of a user, except `keep` (the caller's own, on a password change). */
export async function revokeUserSessions(db: HttpDb, userId: string, reason: string, keep?: string): Promise<number> {
  const revoked = await userSessionsRevocation(db, userId, reason, keep);
  forgetUserSessions(userId);
  return revoked.length;
}

/**
 * revokeUserSessions after `before` (the user's row, a new password hash) in one batch: one round trip, and one
 * transaction, so a failing `before` revokes nothing (docs/benchmarks.md "Round trips per route (issue #16)").
 */
export async function revokeUserSessionsAfter<B extends BatchItem<"pg">>(
  db: HttpDb,
  before: B,
  userId: string,
  reason: string,
  keep?: string,
): Promise<[B["_"]["result"], number]> {
  const [first, revoked] = await db.batch([before, userSessionsRevocation(db, userId, reason, keep)]);
  forgetUserSessions(userId);
  return [first, revoked.length];
}

/**
 * The user behind a live session, in one query: for routes that must notice a revocation or deactivation
 * at once. The whole public user comes back, so a route like /me needs no second query.
 */
function prepareLiveSessionUser(db: HttpDb) {
  return db
    .select(publicColumns)
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder("sessionId")),
        eq(sessions.userId, sql.placeholder("userId")),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
        eq(users.active, true),
      ),
    )
    .prepare("live_session_user");
}

/** Built once per database client (one per isolate): building the SQL was most of this query's CPU in the Worker. */
const liveSessionQueries = new WeakMap<HttpDb, ReturnType<typeof prepareLiveSessionUser>>();

export async function liveSessionUser(db: HttpDb, sessionId: string, userId: string): Promise<PublicUser | undefined> {
  let query = liveSessionQueries.get(db);
  if (!query) {
    query = prepareLiveSessionUser(db);
    liveSessionQueries.set(db, query);
  }
  const [row] = await query.execute({ sessionId, userId });
  return row ? toPublicUser(row) : undefined;
}

/** Sessions one admin listing returns at most (the newest). */
export const SESSION_LIST_LIMIT = 100;

/**
 * A user's sessions for the admin console, newest first: live and ended alike, never a token. 404 when there is no
 * such user: the user's row is read in the same batch (one round trip).
 */
export async function listUserSessions(db: HttpDb, userId: string) {
  const [user, rows] = await db.batch([
    userById(db, userId),
    db
      .select({
        id: sessions.id,
        createdAt: sessions.createdAt,
        lastUsedAt: sessions.lastUsedAt,
        expiresAt: sessions.expiresAt,
        revokedAt: sessions.revokedAt,
        revokedReason: sessions.revokedReason,
        userAgent: sessions.userAgent,
        ip: sessions.ip,
      })
      .from(sessions)
      .where(eq(sessions.userId, userId))
      .orderBy(desc(sessions.createdAt))
      .limit(SESSION_LIST_LIMIT),
  ]);
  foundUser(user);
  const now = Date.now();
  return rows.map((r) => ({
    ...r,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    revokedAt: r.revokedAt?.toISOString() ?? null,
    live: r.revokedAt === null && r.expiresAt.getTime() > now,
  }));
}

/** Ends one session (an admin's revoke); "not_found" when there is none, "already" when it had ended. */
export async function adminRevokeSession(db: HttpDb, sessionId: string): Promise<"revoked" | "already" | "not_found"> {
  // One batch: the read sees the row as it was before the UPDATE beside it, which ends it only if it was live.
  const [[row]] = await db.batch([
    db.select({ revokedAt: sessions.revokedAt }).from(sessions).where(eq(sessions.id, sessionId)).limit(1),
    sessionRevocation(db, sessionId, "revoked by admin"),
  ]);
  if (!row) return "not_found";
  if (row.revokedAt) return "already";
  forgetSession(sessionId);
  return "revoked";
}
