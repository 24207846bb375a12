// /v1/auth end to end inside workerd: the real database (through the bridge), the real rate limiter.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { db } from "../../src/lib/db/client";
import { api, type ErrorJson, freshIp, json, registerUser, type Tokens, uniqueName } from "./support";

describe("register", () => {
  it("creates a user with the user role and signs them in, never returning the password hash", async () => {
    const name = uniqueName();
    const res = await api("POST", "/v1/auth/register", {
      body: { username: name, email: `${name}@Example.com`, password: "s3cret-enough", metadata: { theme: "dark" } },
    });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toMatch(/pbkdf2|password/i);
    const body = JSON.parse(text) as Tokens & { tokenType: string };
    expect(body.tokenType).toBe("Bearer");
    expect(body.user).toMatchObject({ username: name, roles: ["user"], active: true });
    expect(body.refreshToken).toMatch(/^rt_/);
    const ttl = (Date.parse(body.expiresAt) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(800);
    expect(ttl).toBeLessThanOrEqual(900);
    const me = await api("GET", "/v1/auth/me", { token: body.accessToken });
    expect(await json(me)).toMatchObject({ id: body.user.id, metadata: { theme: "dark" } });
  });

  it("refuses a username or email taken in another case with 409", async () => {
    const taken = await registerUser();
    const sameName = await api("POST", "/v1/auth/register", {
      body: {
        username: taken.user.username.toUpperCase(),
        email: `other-${taken.user.email}`,
        password: "long enough",
      },
    });
    expect(sameName.status).toBe(409);
    const sameEmail = await api("POST", "/v1/auth/register", {
      body: { username: uniqueName(), email: taken.user.email.toUpperCase(), password: "long enough" },
    });
    expect(sameEmail.status).toBe(409);
    expect(((await json(sameEmail)) as ErrorJson).error.code).toBe("conflict");
  });

  it("answers a taken username and a taken e-mail alike, so registration never says which one is taken", async () => {
    const taken = await registerUser();
    const answer = async (body: Record<string, string>) => {
      const res = await api("POST", "/v1/auth/register", { body: { password: "long enough", ...body } });
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      const { requestId: _, ...rest } = error;
      return { status: res.status, ...rest };
    };
    const fresh = uniqueName();
    const byName = await answer({ username: taken.user.username, email: `${fresh}@example.com` });
    const byEmail = await answer({ username: fresh, email: taken.user.email });
    expect(byName.status).toBe(409);
    expect(byEmail).toEqual(byName);
    expect(byEmail).toMatchObject({ message: "That username or e-mail cannot be registered" });
  });

  it("limits a user's e-mail changes, each of which could tell whether an address is taken", async () => {
    const u = await registerUser();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await api("PATCH", "/v1/auth/me", {
        token: u.accessToken,
        body: { email: `${uniqueName()}@example.com` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // Metadata alone is not an e-mail change.
    expect((await api("PATCH", "/v1/auth/me", { token: u.accessToken, body: { metadata: { a: 1 } } })).status).toBe(
      200,
    );
  });

  it.each([
    ["a missing password", { username: "abc", email: "a@b.co" }],
    ["an extra field (roles)", { username: "abcd", email: "a@b.co", password: "long enough", roles: ["admin"] }],
    ["a short password", { username: "abcd", email: "a@b.co", password: "short" }],
    ["a 257-character password", { username: "abcd", email: "a@b.co", password: "x".repeat(257) }],
    ["a 65-character username", { username: "u".repeat(65), email: "a@b.co", password: "long enough" }],
    ["a bad email", { username: "abcd", email: "not-an-email", password: "long enough" }],
    [
      "oversized metadata",
      { username: "abcd", email: "a@b.co", password: "long enough", metadata: { x: "y".repeat(9000) } },
    ],
  ])("answers %s with 400", async (_label, body) => {
    const res = await api("POST", "/v1/auth/register", { body });
    expect(res.status).toBe(400);
    expect(((await json(res)) as ErrorJson).error.code).toBe("invalid_request");
  });
});

describe("login", () => {
  it("signs in by username or email, case-insensitively", async () => {
    const u = await registerUser();
    for (const login of [u.user.username.toUpperCase(), u.user.email]) {
      const res = await api("POST", "/v1/auth/login", { body: { username: login, password: u.password } });
      expect(res.status, login).toBe(200);
    }
  });

  it("answers a wrong password and an unknown user alike", async () => {
    const u = await registerUser();
    const wrong = await api("POST", "/v1/auth/login", {
      body: { username: u.user.username, password: "wrong password" },
    });
    const unknown = await api("POST", "/v1/auth/login", {
      body: { username: uniqueName("ghost"), password: "wrong password" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const a = (await json(wrong)) as ErrorJson;
    const b = (await json(unknown)) as ErrorJson;
    expect(a.error.message).toBe(b.error.message);
  });

  it("floods from one address get 429 with Retry-After and RateLimit headers", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await api("POST", "/v1/auth/login", {
        ip,
        body: { username: uniqueName("flood"), password: "whatever1" },
      });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited?.headers.get("ratelimit-remaining")).toBe("0");
    expect(((await json(limited as Response)) as ErrorJson).error.code).toBe("rate_limited");
  });

  it("limits guesses on one account from one address, by username and e-mail alike, and the owner elsewhere still signs in", async () => {
    const u = await registerUser();
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      // Alternating names: the username and the e-mail are one account, so one bucket.
      const username = i % 2 === 0 ? u.user.username : u.user.email.toUpperCase();
      const res = await api("POST", "/v1/auth/login", { ip: attacker, body: { username, password: `guess-${i}-xx` } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // The attacker's address is not out of login altogether: another account is still open to it.
    const other = await registerUser();
    const elsewhere = await api("POST", "/v1/auth/login", {
      ip: attacker,
      body: { username: other.user.username, password: other.password },
    });
    expect(elsewhere.status).toBe(200);
    // The owner, from their own address, is not locked out by the attacker's guesses.
    for (const username of [u.user.username, u.user.email]) {
      const owner = await api("POST", "/v1/auth/login", { body: { username, password: u.password } });
      expect(owner.status).toBe(200);
    }
  });

  it("bounds guesses on one account spread over many addresses", async () => {
    const u = await registerUser();
    // loginPerAccount: 100, refilled one every 10 s; each address stays under its own limit of 5.
    let limitedAfter: number | undefined;
    for (let i = 0; i < 160 && limitedAfter === undefined; i++) {
      const res = await api("POST", "/v1/auth/login", {
        ip: freshIp(),
        body: { username: u.user.username, password: `spread-${i}-xx` },
      });
      if (res.status === 429) limitedAfter = i;
      else expect(res.status).toBe(401);
    }
    expect(limitedAfter).toBeGreaterThanOrEqual(100);
  }, 240_000);
});

describe("refresh tokens", () => {
  it("rotate: each refresh spends the token and returns a new pair", async () => {
    const u = await registerUser();
    const res = await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(res.status).toBe(200);
    const next = await json<Tokens>(res);
    expect(next.refreshToken).not.toBe(u.refreshToken);
    expect((await api("GET", "/v1/auth/me", { token: next.accessToken })).status).toBe(200);
  });

  it("give a concurrent retry within the grace window the same successor", async () => {
    const u = await registerUser();
    const [a, b] = await Promise.all([
      api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } }),
      api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await json<Tokens>(a)).refreshToken).toBe((await json<Tokens>(b)).refreshToken);
  });

  it("reused after the grace window revoke the whole session family", async () => {
    const u = await registerUser();
    const next = await json<Tokens>(await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } }));
    // Age the spent token past the grace window instead of sleeping.
    await db(env).execute(
      sql`UPDATE refresh_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL`,
    );
    const reuse = await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(((await json(reuse)) as ErrorJson).error.message).toMatch(/revoked/);
    // The thief's successor is dead too, and so is the session on session-checked routes.
    expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken: next.refreshToken } })).status).toBe(401);
    expect((await api("GET", "/v1/auth/me", { token: next.accessToken })).status).toBe(401);
  });

  it("refuse garbage", async () => {
    for (const refreshToken of ["rt_nope", "x", "rt_".padEnd(150, "a")]) {
      expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken } })).status).toBe(401);
    }
  });
});

describe("logout", () => {
  it("ends this session: its refresh token and session-checked routes stop working", async () => {
    const u = await registerUser();
    expect((await api("POST", "/v1/auth/logout", { token: u.accessToken })).status).toBe(204);
    expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    expect((await api("GET", "/v1/auth/me", { token: u.accessToken })).status).toBe(401);
  });

  it("logout-all ends every session of the user", async () => {
    const u = await registerUser();
    const second = await json<Tokens>(
      await api("POST", "/v1/auth/login", { body: { username: u.user.username, password: u.password } }),
    );
    const res = await api("POST", "/v1/auth/logout-all", { token: u.accessToken });
    expect(await json(res)).toEqual({ revokedSessions: 2 });
    expect((await api("GET", "/v1/auth/me", { token: second.accessToken })).status).toBe(401);
  });
});

describe("me", () => {
  it("changes email and metadata", async () => {
    const u = await registerUser();
    const res = await api("PATCH", "/v1/auth/me", {
      token: u.accessToken,
      body: { email: `new-${u.user.email}`, metadata: { lang: "nl" } },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ email: `new-${u.user.email}`, metadata: { lang: "nl" } });
  });

  it("refuses a user giving themselves a role or reactivating themselves", async () => {
    const u = await registerUser();
    for (const body of [{ roles: ["admin"] }, { active: true }]) {
      const res = await api("PATCH", "/v1/auth/me", { token: u.accessToken, body });
      expect(res.status).toBe(400);
    }
    expect((await json<Tokens["user"]>(await api("GET", "/v1/auth/me", { token: u.accessToken }))).roles).toEqual([
      "user",
    ]);
  });

  it("needs a token", async () => {
    const res = await api("GET", "/v1/auth/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });
});

describe("password change", () => {
  it("needs the current password, then signs out every other session", async () => {
    const u = await registerUser();
    const other = await json<Tokens>(
      await api("POST", "/v1/auth/login", { body: { username: u.user.username, password: u.password } }),
    );
    const wrong = await api("POST", "/v1/auth/password", {
      token: u.accessToken,
      body: { currentPassword: "not it at all", newPassword: "brand new password" },
    });
    expect(wrong.status).toBe(403);
    const ok = await api("POST", "/v1/auth/password", {
      token: u.accessToken,
      body: { currentPassword: u.password, newPassword: "brand new password" },
    });
    expect(await json(ok)).toEqual({ revokedSessions: 1 });
    expect((await api("GET", "/v1/auth/me", { token: other.accessToken })).status).toBe(401);
    expect((await api("GET", "/v1/auth/me", { token: u.accessToken })).status).toBe(200);
    const oldLogin = await api("POST", "/v1/auth/login", { body: { username: u.user.username, password: u.password } });
    expect(oldLogin.status).toBe(401);
    const newLogin = await api("POST", "/v1/auth/login", {
      body: { username: u.user.username, password: "brand new password" },
    });
    expect(newLogin.status).toBe(200);
  });
});

describe("tokens presented to routes", () => {
  it("refuses alg none, a tampered payload and a malformed header", async () => {
    const u = await registerUser();
    const [header, payload, signature] = u.accessToken.split(".") as [string, string, string];
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, roles: ["admin"] })}.`;
    const tampered = `${header}.${b64({ ...claims, roles: ["admin"] })}.${signature}`;
    for (const token of [none, tampered]) {
      expect((await api("GET", "/api/auth/verify", { token })).status).toBe(401);
    }
    const basic = await api("GET", "/v1/auth/me", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.status).toBe(401);
  });

  it("publishes the public keys, without private members", async () => {
    const res = await api("GET", "/.well-known/jwks.json");
    const body = await json<{ keys: Record<string, unknown>[] }>(res);
    expect(body.keys.length).toBeGreaterThan(0);
    for (const key of body.keys) {
      expect(key.kid).toBeTruthy();
      expect(key.d).toBeUndefined();
    }
    expect(res.headers.get("cache-control")).toContain("max-age");
  });
});
