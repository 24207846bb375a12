// /v1/users: user administration (role admin, checked against the live session on every call).
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { AdminUserPatch, Email, Metadata, Role, Username } from "../src/lib/identity/account";
import { isSupportedPasswordHash } from "../src/lib/identity/passwords";
import { revokeUserSessionsAfter } from "../src/lib/identity/sessions";
import { adminDeleteUser, adminUpdateUser } from "../src/lib/identity/user-admin";
import { foundUser, importUsers, listUsers, requireUserById, UserSchema, userById } from "../src/lib/identity/users";
import { ApiRouter } from "../src/lib/platform/router";

const ADMIN = { role: "admin" } as const;
/** Users per import request: large enough for a migration in a few calls, small enough for one request's CPU. */
const IMPORT_MAX_USERS = 1000;

const IdParams = z.object({ id: z.uuid() });

const ImportedUser = z
  .object({
    username: Username,
    email: Email,
    passwordHash: z
      .string()
      .max(200)
      .refine(isSupportedPasswordHash, "must be a bcrypt hash (cost 4 to 12) or a Tessera PBKDF2 hash"),
    roles: z.array(Role).max(16).optional(),
    metadata: Metadata.optional(),
    active: z.boolean().optional(),
  })
  .strict();

export const usersService = new ApiRouter("users")
  .route(
    {
      method: "get",
      path: "/",
      auth: ADMIN,
      summary: "List users, oldest first, with search and cursor pagination",
      query: z.object({
        q: z.string().trim().min(1).max(254).optional().describe("Substring of username or email"),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().max(200).optional(),
      }),
      responses: {
        200: {
          description: "A page",
          schema: z.object({ users: z.array(UserSchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (c, { query }) => c.json(await listUsers(db(c.env), query)),
  )
  .route(
    {
      method: "post",
      path: "/import",
      auth: ADMIN,
      summary: "Import users moved from the old services, with their bcrypt hashes",
      description: `Up to ${IMPORT_MAX_USERS} users. Each bcrypt hash is replaced by PBKDF2 at that user's first login.`,
      body: z.object({ users: z.array(ImportedUser).min(1).max(IMPORT_MAX_USERS) }).strict(),
      bodyLimit: 4 * 1024 * 1024,
      responses: {
        200: {
          description: "What was imported and what already existed",
          schema: z.object({
            imported: z.number(),
            skipped: z.array(z.object({ username: z.string(), reason: z.string() })),
          }),
        },
      },
    },
    async (c, { body }) => c.json(await importUsers(db(c.env), body.users)),
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: ADMIN,
      summary: "Get a user",
      params: IdParams,
      responses: { 200: { description: "The user", schema: UserSchema } },
    },
    async (c, { params }) => c.json(await requireUserById(db(c.env), params.id)),
  )
  .route(
    {
      method: "patch",
      path: "/:id",
      auth: ADMIN,
      summary: "Update roles, active, email or metadata; deactivating revokes every session",
      params: IdParams,
      body: AdminUserPatch,
      responses: { 200: { description: "The updated user", schema: UserSchema } },
    },
    async (c, { params, body }) => c.json(await adminUpdateUser(c, params.id, body)),
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: ADMIN,
      summary: "Delete a user (not yourself)",
      params: IdParams,
      responses: { 204: { description: "Deleted" } },
    },
    async (c, { params }) => {
      await adminDeleteUser(c, params.id);
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "post",
      path: "/:id/revoke-sessions",
      auth: ADMIN,
      summary: "Sign a user out everywhere",
      params: IdParams,
      responses: { 200: { description: "Sessions ended", schema: z.object({ revokedSessions: z.number() }) } },
    },
    async (c, { params }) => {
      const database = db(c.env);
      const [user, revoked] = await revokeUserSessionsAfter(
        database,
        userById(database, params.id),
        params.id,
        "revoked by admin",
      );
      foundUser(user);
      return c.json({ revokedSessions: revoked });
    },
  );
