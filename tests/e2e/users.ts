// Users for end-to-end tests: signed up over HTTP, or (admins) made in the database through the suite's bridge.
import { expect, inject } from "vitest";
import { db } from "../../src/lib/db/client";
import { hashPassword } from "../../src/lib/identity/passwords";
import { createUser, deleteUser } from "../../src/lib/identity/users";

export interface User {
  token: string;
  id: string;
}

let counter = 0;
export const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${counter++}`;

export async function signUp(prefix = "hub"): Promise<User> {
  const name = unique(prefix);
  const res = await fetch(`${inject("workerUrl")}/v1/auth/register`, {
    method: "POST",
    // The registration limit is raised for the e2e suite (global-setup.ts), and tested elsewhere.
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: name, email: `${name}@example.com`, password: "hub password 1" }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { accessToken: string; user: { id: string } };
  return { token: body.accessToken, id: body.user.id };
}

const database = () => db({ DATABASE_URL: inject("databaseUrl") });

/**
 * An admin made straight in the database through the suite's bridge (roles cannot be self-assigned), then signed
 * in. The caller must delete it (deleteAdmin): the suite shares one database, and auth.test.ts needs bootstrap
 * (no admin) open.
 */
export async function signUpAdmin(prefix = "hubadmin"): Promise<User & { username: string; password: string }> {
  const name = unique(prefix);
  const password = "hub admin password";
  const user = await createUser(database(), {
    username: name,
    email: `${name}@example.com`,
    passwordHash: await hashPassword(password),
    roles: ["user", "admin"],
  });
  const res = await fetch(`${inject("workerUrl")}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: name, password }),
  });
  expect(res.status).toBe(200);
  return { token: ((await res.json()) as { accessToken: string }).accessToken, id: user.id, username: name, password };
}

export async function deleteAdmin(admin: User): Promise<void> {
  await deleteUser(database(), admin.id);
}
