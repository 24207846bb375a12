// Users for end-to-end tests: signed up over HTTP (tests/support/client.ts), or (admins) made in the database through
// the suite's bridge.
import { inject } from "vitest";
import { db } from "../../src/lib/db/client";
import { hashPassword } from "../../src/lib/identity/passwords";
import { createUser, deleteUser } from "../../src/lib/identity/users";
import { signIn, signUp as signUpAt, type User, unique } from "../support/client";

export { type User, unique } from "../support/client";

/** A new user on the suite's Worker. */
export function signUp(prefix = "user"): Promise<User> {
  return signUpAt(inject("workerUrl"), prefix);
}

const database = () => db({ DATABASE_URL: inject("databaseUrl") });

/**
 * An admin made straight in the database through the suite's bridge (roles cannot be self-assigned), then signed
 * in. The caller must delete it (deleteAdmin): the suite shares one database, and auth.test.ts needs bootstrap
 * (no admin) open.
 */
export async function signUpAdmin(prefix = "admin"): Promise<User> {
  const username = unique(prefix);
  const password = "e2e admin password";
  const user = await createUser(database(), {
    username,
    email: `${username}@example.com`,
    passwordHash: await hashPassword(password),
    roles: ["user", "admin"],
  });
  return { token: await signIn(inject("workerUrl"), username, password), id: user.id, username, password };
}

export async function deleteAdmin(admin: User): Promise<void> {
  await deleteUser(database(), admin.id);
}
