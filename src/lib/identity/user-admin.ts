// What an admin may do to a user, with the guards both admin APIs (/v1/users and legacy /api/auth) share.
import type { Context } from "hono";
import { db } from "../db/client";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { principal } from "./auth";
import { revokeUserSessionsAfter } from "./sessions";
import {
  deleteUser,
  foundUser,
  type PublicUser,
  type UserPatch,
  updateUser,
  userUpdate,
  withPatchConflicts,
} from "./users";

/** Updates a user; deactivating also ends every session. An admin cannot lock themselves out. */
export async function adminUpdateUser(c: Context<AppEnv>, id: string, patch: UserPatch): Promise<PublicUser> {
  if (id === principal(c).sub && (patch.active === false || (patch.roles && !patch.roles.includes("admin")))) {
    throw new ApiError("invalid_request", "You cannot deactivate yourself or remove your own admin role");
  }
  const database = db(c.env);
  if (patch.active !== false) return updateUser(database, id, patch);
  const [rows] = await withPatchConflicts(() =>
    revokeUserSessionsAfter(database, userUpdate(database, id, patch), id, "deactivated"),
  );
  return foundUser(rows);
}

export async function adminDeleteUser(c: Context<AppEnv>, id: string): Promise<void> {
  if (id === principal(c).sub) throw new ApiError("invalid_request", "You cannot delete yourself");
  if (!(await deleteUser(db(c.env), id))) throw new ApiError("not_found", "User not found");
}
