// Helpers for route tests: real requests through the Worker's own fetch handler.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { z } from "zod";
import type { TokensSchema } from "../../functions/auth";
import { db } from "../../src/lib/db/client";
import { hashPassword } from "../../src/lib/identity/passwords";
import { createUser } from "../../src/lib/identity/users";
import type { ErrorBodySchema } from "../../src/lib/platform/openapi";

/**
 * A fresh client address, so one test's rate-limit buckets never drain another's: random in the IPv6 documentation
 * prefix, since files run in parallel in one runtime and a per-file counter gave two files the same addresses.
 */
export function freshIp(): string {
  const hex = crypto.randomUUID().replaceAll("-", "");
  return `2001:db8:${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 12)}:${hex.slice(12, 16)}::1`;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  ip?: string;
  headers?: Record<string, string>;
}

export async function api(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  return send(method, path, { token: opts.token, ip: opts.ip, headers, body });
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** What sign-up, sign-in and refresh answer (the route's schema). */
export type Tokens = z.output<typeof TokensSchema>;

/** The one error shape every non-2xx JSON body has (the schema /openapi.json documents). */
export type ErrorJson = z.output<typeof ErrorBodySchema>;

/** A name no other test uses, in this file or another running beside it (workerd's clock stands still between I/O). */
export function uniqueName(prefix = "user"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export async function registerUser(
  name = uniqueName(),
  password = "correct horse battery",
): Promise<Tokens & { password: string }> {
  const res = await api("POST", "/v1/auth/register", {
    body: { username: name, email: `${name}@example.com`, password },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { ...(await json<Tokens>(res)), password };
}

/** An admin made straight in the database (as `npm run admin:create` does), then signed in over HTTP. */
export function createAdmin(): Promise<Tokens & { password: string }> {
  return createUserWithRoles(["user", "admin"], "admin");
}

/** A user with the given roles, made straight in the database (roles cannot be self-assigned), signed in. */
export async function createUserWithRoles(roles: string[], prefix = "role"): Promise<Tokens & { password: string }> {
  const name = uniqueName(prefix);
  const password = "admin password 1";
  await createUser(db(env), {
    username: name,
    email: `${name}@example.com`,
    passwordHash: await hashPassword(password),
    roles,
  });
  const res = await api("POST", "/v1/auth/login", { body: { username: name, password } });
  if (res.status !== 200) throw new Error(`login as ${roles.join("+")} failed: ${res.status} ${await res.text()}`);
  return { ...(await json<Tokens>(res)), password };
}

/** A request with a body that is not JSON (bytes, text) or none, and whatever headers it needs. */
export function send(
  method: string,
  path: string,
  opts: { token?: string; ip?: string; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "CF-Connecting-IP": opts.ip ?? freshIp(), ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  return exports.default.fetch(new Request(`https://tessera.test${path}`, { method, headers, body: opts.body }));
}

/**
 * Rows of an object's own SQLite storage, read inside the object (runInDurableObject): what tests check of an
 * object's state without the object carrying test-only methods.
 */
export function objectRows<T extends Record<string, SqlStorageValue>>(
  stub: DurableObjectStub,
  query: string,
  ...bindings: unknown[]
): Promise<T[]> {
  return runInDurableObject(stub, (_: unknown, state) => state.storage.sql.exec<T>(query, ...bindings).toArray());
}

/** A hub room's kept frames after `since` (JSON text, oldest first), read from its storage. */
export async function keptFrames(room: string, since = 0): Promise<string[]> {
  const rows = await objectRows<{ frame: string }>(
    env.HUB.getByName(room),
    "SELECT frame FROM messages WHERE seq > ? ORDER BY seq",
    since,
  );
  return rows.map((row) => row.frame);
}

/**
 * `api`, waiting out the per-user request limit: a 429 `rate_limited` is asked again after its Retry-After (up to
 * five times). For tests that make many requests as one user, which a fast machine sends faster than the limit's
 * burst (RATE_LIMIT_USER_PER_MINUTE / 5) refills; the limit itself is tested elsewhere.
 */
export async function apiPatient(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await api(method, path, opts);
    if (res.status !== 429 || attempt === 5) return res;
    const body = (await res.clone().json()) as ErrorJson;
    if (body.error.code !== "rate_limited") return res;
    await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get("retry-after") ?? "1") * 1000));
  }
}
