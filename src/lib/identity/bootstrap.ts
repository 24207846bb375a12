// The first admin, created over HTTP with a one-time secret, and only while no admin exists.

import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { z } from "zod";
import { db } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { users } from "../db/schema";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { clientIp, enforceLimits } from "../platform/rate-limit";
import type { SignedIn } from "./account";
import { type RegisterBody, signInUser } from "./account";
import { bearerToken } from "./auth";
import { hashPassword } from "./passwords";
import { timingSafeEqualStrings } from "./tokens";

// Any fixed number: all bootstraps take this transaction-scoped lock, so two cannot both see "no admin".
const BOOTSTRAP_LOCK = 7_304_211;

export async function bootstrapAdmin(
  c: Context<AppEnv>,
  input: Omit<z.output<typeof RegisterBody>, "metadata">,
): Promise<SignedIn> {
  await enforceLimits(c, [["loginPerIp", clientIp(c)]]);
  const expected = c.env.ADMIN_BOOTSTRAP_TOKEN;
  if (!expected) throw new ApiError("forbidden", "Bootstrap is disabled: ADMIN_BOOTSTRAP_TOKEN is not set");
  const presented = bearerToken(c) ?? "";
  if (!(await timingSafeEqualStrings(presented, expected))) {
    throw new ApiError("unauthorized", "Invalid bootstrap token");
  }
  const database = db(c.env);
  const passwordHash = await hashPassword(input.password);
  let inserted: { id: string }[];
  try {
    const [, result] = await database.batch([
      database.execute(sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`),
      database.execute<{ id: string }>(sql`
        INSERT INTO ${users} (username, email, password_hash, roles)
        SELECT ${input.username}, ${input.email}, ${passwordHash}, ARRAY['user','admin']::text[]
        WHERE NOT EXISTS (SELECT 1 FROM ${users} WHERE 'admin' = ANY(roles))
        RETURNING id`),
    ]);
    inserted = result.rows;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError("conflict", "A user with this username or email already exists");
    throw err;
  }
  const id = inserted[0]?.id;
  if (!id) throw new ApiError("conflict", "An admin already exists; bootstrap is closed");
  return signInUser(c, id);
}
