// /v1/users (admin) and the legacy /api/auth adapter, with the denials.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "../../src/lib/db/client";
import { api, createAdmin, type ErrorJson, json, registerUser, type Tokens, uniqueName } from "./support";

type User = Tokens["user"];
let admin: Tokens & { password: string };

beforeAll(async () => {
  admin = await createAdmin();
});

describe("admin routes", () => {
  it("refuse a signed-in non-admin with 403 and an anonymous caller with 401", async () => {
    const u = await registerUser();
    const routes: [string, string, unknown?][] = [
      ["GET", "/v1/users"],
      ["GET", `/v1/users/${u.user.id}`],
      ["PATCH", `/v1/users/${u.user.id}`, { roles: ["user", "admin"] }],
      ["DELETE", `/v1/users/${admin.user.id}`],
      ["POST", `/v1/users/${admin.user.id}/revoke-sessions`],
      ["POST", "/v1/users/import", { users: [] }],
      ["GET", "/api/auth/users"],
    ];
    for (const [method, path, body] of routes) {
      expect((await api(method, path, { token: u.accessToken, body })).status, `${method} ${path}`).toBe(403);
      expect((await api(method, path, { body })).status, `${method} ${path} anonymous`).toBe(401);
    }
  });

  it("list users with search and stable cursor pagination", async () => {
    const tag = uniqueName("pager");
    for (let i = 0; i < 5; i++) await registerUser(`${tag}x${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = `?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page: { users: User[]; nextCursor: string | null } = await json(
        await api("GET", `/v1/users${qs}`, { token: admin.accessToken }),
      );
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((u) => u.username));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${tag}x${i}`));
    const bad = await api("GET", "/v1/users?cursor=garbage", { token: admin.accessToken });
    expect(bad.status).toBe(400);
    expect((await api("GET", "/v1/users?limit=1000", { token: admin.accessToken })).status).toBe(400);
  });

  it("gets, updates and deletes a user; a missing one is 404", async () => {
    const u = await registerUser();
    const got = await api("GET", `/v1/users/${u.user.id}`, { token: admin.accessToken });
    expect(await json(got)).toMatchObject({ id: u.user.id, username: u.user.username });
    const patched = await api("PATCH", `/v1/users/${u.user.id}`, {
      token: admin.accessToken,
      body: { roles: ["user", "editor"], metadata: { team: "x" } },
    });
    expect(await json(patched)).toMatchObject({ roles: ["user", "editor"], metadata: { team: "x" } });
    expect((await api("DELETE", `/v1/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await api("GET", `/v1/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(404);
    expect((await api("DELETE", `/v1/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(404);
    expect((await api("GET", "/v1/users/not-a-uuid", { token: admin.accessToken })).status).toBe(400);
  });

  it("refuse an admin deleting, deactivating or demoting themselves", async () => {
    const del = await api("DELETE", `/v1/users/${admin.user.id}`, { token: admin.accessToken });
    expect(del.status).toBe(400);
    for (const body of [{ active: false }, { roles: ["user"] }]) {
      expect((await api("PATCH", `/v1/users/${admin.user.id}`, { token: admin.accessToken, body })).status).toBe(400);
    }
  });

  it("deactivating a user revokes their sessions at once; their login then gets 403", async () => {
    const u = await registerUser();
    const off = await api("PATCH", `/v1/users/${u.user.id}`, { token: admin.accessToken, body: { active: false } });
    expect(await json(off)).toMatchObject({ active: false });
    expect((await api("GET", "/v1/auth/me", { token: u.accessToken })).status).toBe(401);
    expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    const login = await api("POST", "/v1/auth/login", { body: { username: u.user.username, password: u.password } });
    expect(login.status).toBe(403);
    // The legacy verify reads the live session too (it answers the user's email), so it refuses at once.
    expect((await api("GET", "/api/auth/verify", { token: u.accessToken })).status).toBe(401);
  });

  it("a demoted admin loses admin routes at once, before their token expires", async () => {
    const other = await createAdmin();
    expect((await api("GET", "/v1/users", { token: other.accessToken })).status).toBe(200);
    await api("PATCH", `/v1/users/${other.user.id}`, { token: admin.accessToken, body: { roles: ["user"] } });
    expect((await api("GET", "/v1/users", { token: other.accessToken })).status).toBe(403);
  });

  it("revokes a user's sessions", async () => {
    const u = await registerUser();
    const res = await api("POST", `/v1/users/${u.user.id}/revoke-sessions`, { token: admin.accessToken });
    expect(await json(res)).toEqual({ revokedSessions: 1 });
    expect((await api("GET", "/v1/auth/me", { token: u.accessToken })).status).toBe(401);
  });

  it("revoking the sessions of, or deactivating, a missing user is 404", async () => {
    const nobody = crypto.randomUUID();
    const revoke = await api("POST", `/v1/users/${nobody}/revoke-sessions`, { token: admin.accessToken });
    expect(revoke.status).toBe(404);
    const off = await api("PATCH", `/v1/users/${nobody}`, { token: admin.accessToken, body: { active: false } });
    expect(off.status).toBe(404);
  });

  it("a deactivation whose new e-mail is taken is 409 and ends no session (one transaction)", async () => {
    const [u, other] = [await registerUser(), await registerUser()];
    const res = await api("PATCH", `/v1/users/${u.user.id}`, {
      token: admin.accessToken,
      body: { active: false, email: other.user.email },
    });
    expect(res.status).toBe(409);
    expect((await json<ErrorJson>(res)).error.issues?.[0]?.path).toEqual(["body", "email"]);
    expect((await api("GET", "/v1/auth/me", { token: u.accessToken })).status).toBe(200);
  });

  it("imports users with bcrypt hashes; their first login replaces the hash with PBKDF2", async () => {
    const name = uniqueName("legacy");
    // bcryptjs, cost 4, of "legacy password"
    const bcrypt = "$2b$04$FAU56R0x4QxB7mCDqDpdyezE3zxihv92983zpbsifBM7kyLWCCH1q";
    const res = await api("POST", "/v1/users/import", {
      token: admin.accessToken,
      body: {
        users: [
          { username: name, email: `${name}@example.com`, passwordHash: bcrypt, metadata: { from: "go-auth" } },
          { username: admin.user.username, email: "dup@example.com", passwordHash: bcrypt },
        ],
      },
    });
    expect(await json(res)).toEqual({
      imported: 1,
      skipped: [{ username: admin.user.username, reason: expect.any(String) }],
    });
    const login = await api("POST", "/v1/auth/login", { body: { username: name, password: "legacy password" } });
    expect(login.status).toBe(200);
    const stored = await db(env).execute<{ password_hash: string }>(
      sql`SELECT password_hash FROM users WHERE username = ${name}`,
    );
    expect(stored.rows[0]?.password_hash).toMatch(/^\$pbkdf2-sha256\$i=100000\$/);
    const again = await api("POST", "/v1/auth/login", { body: { username: name, password: "legacy password" } });
    expect(again.status).toBe(200);
  });

  it("refuses an import whose hash is not bcrypt", async () => {
    const res = await api("POST", "/v1/users/import", {
      token: admin.accessToken,
      body: { users: [{ username: uniqueName(), email: "x@example.com", passwordHash: "md5:abc" }] },
    });
    expect(res.status).toBe(400);
  });
});

describe("legacy /api/auth", () => {
  it("registers and logs in with the old shapes", async () => {
    const name = uniqueName("old");
    const reg = await api("POST", "/api/auth/register", {
      body: { username: name, email: `${name}@example.com`, password: "old client pw" },
    });
    expect(reg.status).toBe(201);
    const created = await json<{ token: string; user: User; expires_at: string }>(reg);
    expect(Object.keys(created).sort()).toEqual(["expires_at", "token", "user"]);
    const login = await api("POST", "/api/auth/login", { body: { username: name, password: "old client pw" } });
    const body = await json<{ token: string; expires_at: string }>(login);
    expect(login.status).toBe(200);
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
    const verify = await json(await api("GET", "/api/auth/verify", { token: body.token }));
    expect(verify).toEqual({
      valid: true,
      user_id: created.user.id,
      expires_at: expect.any(String),
      roles: ["user"],
      user: { id: created.user.id, email: `${name}@example.com`, username: name },
    });
  });

  // go-services/auth-service/main.go's routes, replayed in its request shapes, one by one: behind the old gateway's
  // /api/auth and at auth-service's own base path (docs/legacy.md "Which generation answers where").
  it.each(["/api/auth", "/auth-service/auth"])(
    "serves auth-service's register, login by email, verify, refresh and logout at %s",
    async (base) => {
      const name = uniqueName("gosvc");
      const email = `${name}@example.com`;
      // registerHandler: {email, username, password} → {user: {id, email, username, api_key}, token}; auth-service
      // answered 200 (kept at its base path), the old gateway's /api/auth 201 (simple-auth's).
      const reg = await api("POST", `${base}/register`, { body: { email, username: name, password: "go client pw" } });
      expect(reg.status).toBe(base === "/auth-service/auth" ? 200 : 201);
      const registered = await json<{ token: string; user: { id: string; email: string; username: string } }>(reg);
      expect(registered.user).toMatchObject({ id: expect.any(String), email, username: name });
      // No static API key is issued (docs/legacy.md): the field is absent rather than a key that never expires.
      expect(registered.user).not.toHaveProperty("api_key");
      // loginHandler: {email, password} → {user: {id, email, username}, token}
      const login = await api("POST", `${base}/login`, { body: { email, password: "go client pw" } });
      expect(login.status).toBe(200);
      const signedIn = await json<{ token: string; user: { id: string; email: string; username: string } }>(login);
      expect(signedIn.user).toMatchObject({ id: registered.user.id, email, username: name });
      const wrong = await api("POST", `${base}/login`, { body: { email, password: "not it" } });
      expect(wrong.status).toBe(401);
      // verifyHandler: GET with Authorization: Bearer → {valid: true, user: {id, email, username}}
      const verify = await json(await api("GET", `${base}/verify`, { token: signedIn.token }));
      expect(verify).toMatchObject({ valid: true, user: { id: registered.user.id, email, username: name } });
      // verifyAPIKeyHandler: GET with X-API-Key → refused (no static keys), in the error shape.
      const key = await api("GET", `${base}/verify-api-key`, { headers: { "X-API-Key": "sk-anything" } });
      expect(key.status).toBe(401);
      expect(((await json(key)) as ErrorJson).error.code).toBe("unauthorized");
      // refreshTokenHandler: POST with Authorization: Bearer → {token}
      const refreshed = await api("POST", `${base}/refresh`, { token: signedIn.token });
      expect(refreshed.status).toBe(200);
      const { token } = await json<{ token: string }>(refreshed);
      expect((await api("GET", `${base}/verify`, { token })).status).toBe(200);
      // logoutHandler: POST with Authorization: Bearer → {success: true, message}; the session is over after it.
      const out = await api("POST", `${base}/logout`, { token });
      expect(await json(out)).toEqual({ success: true, message: "Logged out successfully" });
      expect((await api("POST", `${base}/refresh`, { token })).status).toBe(401);
      expect((await api("GET", `${base}/verify`, { token })).status).toBe(401);
    },
  );

  it("answers auth-service's health at /auth-service/health and simple-auth's at /api/auth/health", async () => {
    // auth-service's healthHandler: {status: "healthy", service: "auth-service", timestamp: <unix seconds>}
    const go = await json<{ status: string; service: string; timestamp: number }>(
      await api("GET", "/auth-service/health"),
    );
    expect(go).toEqual({ status: "healthy", service: "auth-service", timestamp: expect.any(Number) });
    expect(Math.abs(go.timestamp - Date.now() / 1000)).toBeLessThan(600);
    // simple-auth's: service "auth" and an RFC 3339 timestamp.
    const simple = await json<{ service: string; timestamp: string }>(await api("GET", "/api/auth/health"));
    expect(simple).toMatchObject({ status: "healthy", service: "auth", uptime_seconds: expect.any(Number) });
    expect(Math.abs(Date.parse(simple.timestamp) - Date.now())).toBeLessThan(600_000);
  });

  it("keeps the old status codes, with errors in the one error shape", async () => {
    const u = await registerUser();
    const wrong = await api("POST", "/api/auth/login", { body: { username: u.user.username, password: "nope nope" } });
    expect(wrong.status).toBe(401);
    expect(((await json(wrong)) as ErrorJson).error.code).toBe("unauthorized");
    const dup = await api("POST", "/api/auth/register", {
      body: { username: u.user.username, email: "z@example.com", password: "long enough" },
    });
    expect(dup.status).toBe(409);
    expect((await api("POST", "/api/auth/register", { body: { username: "", email: "", password: "" } })).status).toBe(
      400,
    );
    expect((await api("GET", "/api/auth/verify")).status).toBe(401);
  });

  it("lets a user change their profile but never their roles or active flag", async () => {
    const u = await registerUser();
    const ok = await api("PUT", "/api/auth/profile", { token: u.accessToken, body: { metadata: { a: 1 } } });
    expect(await json(ok)).toMatchObject({ metadata: { a: 1 } });
    expect((await api("PUT", "/api/auth/profile", { token: u.accessToken, body: { roles: ["admin"] } })).status).toBe(
      400,
    );
    expect((await api("PUT", "/api/auth/profile", { token: u.accessToken, body: { active: true } })).status).toBe(400);
    expect(await json(await api("GET", "/api/auth/profile", { token: u.accessToken }))).toMatchObject({
      roles: ["user"],
    });
  });

  it("serves admin user routes and health", async () => {
    const list = await api("GET", "/api/auth/users", { token: admin.accessToken });
    expect(Array.isArray(await json(list))).toBe(true);
    const u = await registerUser();
    expect((await api("DELETE", `/api/auth/users/${admin.user.id}`, { token: admin.accessToken })).status).toBe(400);
    expect((await api("DELETE", `/api/auth/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await api("GET", `/api/auth/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(404);
    const health = await json(await api("GET", "/api/auth/health"));
    expect(health).toMatchObject({ status: "healthy", service: "auth", active_users: expect.any(Number) });
  });
});
