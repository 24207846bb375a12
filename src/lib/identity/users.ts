// The users table's only door: the password hash is read here and never returned.
import { and, asc, eq, gt, ilike, or, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { users } from "../db/schema";
import { decodeCursor, encodeCursor } from "../platform/cursor";
import { ApiError } from "../platform/errors";
import { forgetUserSessions } from "./live-session-memory";

/** The user as every API shows it (the legacy services' shape). */
export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string(),
  created: z.string().describe("RFC 3339"),
  updated: z.string().describe("RFC 3339"),
  active: z.boolean(),
  roles: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
});
export type PublicUser = z.infer<typeof UserSchema>;

export const publicColumns = {
  id: users.id,
  username: users.username,
  email: users.email,
  active: users.active,
  roles: users.roles,
  metadata: users.metadata,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

type PublicRow = { [K in keyof typeof publicColumns]: (typeof publicColumns)[K]["_"]["data"] };

export function toPublicUser(row: PublicRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    created: row.createdAt.toISOString(),
    updated: row.updatedAt.toISOString(),
    active: row.active,
    roles: row.roles,
    metadata: row.metadata,
  };
}

function conflictFrom(err: unknown): never {
  const unique = isUniqueViolation(err);
  if (unique) {
    const field = unique.constraint?.includes("email") ? "email" : "username";
    throw new ApiError("conflict", `A user with this ${field} already exists`, {
      issues: [{ path: ["body", field], code: "taken", message: `${field} is already taken` }],
    });
  }
  throw err;
}

interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
  roles?: string[];
  metadata?: Record<string, unknown>;
  active?: boolean;
}

/**
 * A registration that collides: one answer whether the username or the e-mail is taken, so the answer never says
 * which. It cannot hide that one of them is: docs/security.md "Registration" says why, and what bounds guessing.
 */
function registrationConflict(err: unknown): never {
  if (isUniqueViolation(err)) {
    throw new ApiError("conflict", "That username or e-mail cannot be registered", {
      issues: [{ path: ["body"], code: "taken", message: "the username or the e-mail is already in use" }],
    });
  }
  throw err;
}

/** The INSERT of a new user (id chosen by the caller, so it can share a batch with rows that refer to it). */
export function insertUser(db: HttpDb, input: NewUser & { id?: string }) {
  return db
    .insert(users)
    .values({
      ...(input.id ? { id: input.id } : {}),
      username: input.username,
      email: input.email,
      passwordHash: input.passwordHash,
      roles: input.roles ?? ["user"],
      metadata: input.metadata ?? {},
      active: input.active ?? true,
    })
    .returning(publicColumns);
}

/** Runs a write that creates a user (alone or in a batch): a taken username or email is the one 409 of
 * registrationConflict. */
export async function withUserConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    registrationConflict(err);
  }
}

export async function createUser(db: HttpDb, input: NewUser): Promise<PublicUser> {
  const [row] = await withUserConflicts(() => insertUser(db, input));
  return toPublicUser(row as PublicRow);
}

/** For login only: the user and the hash to check, found by username or email, case-insensitively. */
export async function findLoginCandidate(
  db: HttpDb,
  login: string,
): Promise<{ user: PublicUser; passwordHash: string } | undefined> {
  const [row] = await db
    .select({ ...publicColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(or(sql`lower(${users.username}) = lower(${login})`, sql`lower(${users.email}) = lower(${login})`))
    .limit(1);
  if (!row) return undefined;
  const { passwordHash, ...rest } = row;
  return { user: toPublicUser(rest), passwordHash };
}

export async function passwordHashOf(db: HttpDb, id: string): Promise<string | undefined> {
  const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, id));
  return row?.passwordHash;
}

/** The UPDATE of a user's password hash, to run alone or in a batch. */
export function updatePasswordHash(db: HttpDb, id: string, passwordHash: string) {
  return db.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, id));
}

/** The SELECT of one user's public row, to run alone or first in a batch (then `foundUser` on its rows). */
export function userById(db: HttpDb, id: string) {
  return db.select(publicColumns).from(users).where(eq(users.id, id));
}

/** The user from userById's rows; 404 when there is none. */
export function foundUser(rows: PublicRow[]): PublicUser {
  const [row] = rows;
  if (!row) throw new ApiError("not_found", "User not found");
  return toPublicUser(row);
}

export async function requireUserById(db: HttpDb, id: string): Promise<PublicUser> {
  return foundUser(await userById(db, id));
}

export interface UserPatch {
  email?: string;
  metadata?: Record<string, unknown>;
  roles?: string[];
  active?: boolean;
}

/** The UPDATE of a user, to run alone or first in a batch; run it under withPatchConflicts, then `foundUser`. */
export function userUpdate(db: HttpDb, id: string, patch: UserPatch) {
  return db
    .update(users)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(users.id, id))
    .returning(publicColumns);
}

/** Runs a write holding a userUpdate: a taken username or email is a 409 naming the field. */
export async function withPatchConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    conflictFrom(err);
  }
}

export async function updateUser(db: HttpDb, id: string, patch: UserPatch): Promise<PublicUser> {
  return foundUser(await withPatchConflicts(() => userUpdate(db, id, patch)));
}

export async function deleteUser(db: HttpDb, id: string): Promise<boolean> {
  const deleted = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  forgetUserSessions(id);
  return deleted.length > 0;
}

export async function countActiveUsers(db: HttpDb): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users).where(eq(users.active, true));
  return row?.n ?? 0;
}

interface UserPage {
  users: PublicUser[];
  nextCursor: string | null;
}

const UserCursor = z.tuple([z.iso.datetime(), z.uuid()]);

/** Oldest first, keyset-paginated on (created_at, id) so pages stay stable while users are added. */
export async function listUsers(db: HttpDb, opts: { q?: string; limit: number; cursor?: string }): Promise<UserPage> {
  const conditions: SQL[] = [];
  if (opts.q) {
    const pattern = `%${opts.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    const match = or(ilike(users.username, pattern), ilike(users.email, pattern));
    if (match) conditions.push(match);
  }
  if (opts.cursor) {
    const [createdAt, id] = decodeCursor(opts.cursor, UserCursor);
    const after = { createdAt: new Date(createdAt), id };
    conditions.push(
      or(
        gt(users.createdAt, after.createdAt),
        and(eq(users.createdAt, after.createdAt), gt(users.id, after.id)),
      ) as SQL,
    );
  }
  const rows = await db
    .select(publicColumns)
    .from(users)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    users: page.map(toPublicUser),
    nextCursor: rows.length > opts.limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
  };
}

interface ImportResult {
  imported: number;
  skipped: { username: string; reason: string }[];
}

/** Inserts users with their legacy hashes; one that clashes on username or email is skipped, not fatal. */
export async function importUsers(db: HttpDb, input: NewUser[]): Promise<ImportResult> {
  const rows = await db
    .insert(users)
    .values(
      input.map((u) => ({
        username: u.username,
        email: u.email,
        passwordHash: u.passwordHash,
        roles: u.roles ?? ["user"],
        metadata: u.metadata ?? {},
        active: u.active ?? true,
      })),
    )
    .onConflictDoNothing()
    .returning({ username: users.username });
  const inserted = new Set(rows.map((r) => r.username));
  return {
    imported: rows.length,
    skipped: input
      .filter((u) => !inserted.has(u.username))
      .map((u) => ({ username: u.username, reason: "username or email already exists" })),
  };
}
