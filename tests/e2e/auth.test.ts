// The auth flows over real HTTP against `wrangler dev`, on a fresh database (so the bootstrap is open).
import { describe, expect, inject, it } from "vitest";
import { call } from "../support/client";

const base = inject("workerUrl");
const bootstrapToken = inject("bootstrapToken");

const post = (path: string, body: unknown, token?: string) => call(base, "POST", path, { body, token });

describe("auth over HTTP", () => {
  const admin = { username: "firstadmin", email: "first@example.com", password: "bootstrap password" };

  it("bootstraps the first admin once, with the one-time token only", async () => {
    expect((await post("/v1/auth/bootstrap", admin, "wrong-token")).status).toBe(401);
    expect((await post("/v1/auth/bootstrap", admin)).status).toBe(401);
    const ok = await post("/v1/auth/bootstrap", admin, bootstrapToken);
    expect(ok.status).toBe(201);
    expect((ok.body.user as { roles: string[] }).roles).toEqual(["user", "admin"]);
    const again = await post(
      "/v1/auth/bootstrap",
      { ...admin, username: "second", email: "s@example.com" },
      bootstrapToken,
    );
    expect(again.status).toBe(409);
  });

  it("registers, reads /me, refreshes, verifies through the legacy route, and logs out", async () => {
    const reg = await post("/v1/auth/register", {
      username: "e2euser",
      email: "e2e@example.com",
      password: "e2e password",
    });
    expect(reg.status).toBe(201);
    const access = reg.body.accessToken as string;
    const me = await fetch(`${base}/v1/auth/me`, { headers: { authorization: `Bearer ${access}` } });
    expect(((await me.json()) as { username: string }).username).toBe("e2euser");

    const refreshed = await post("/v1/auth/refresh", { refreshToken: reg.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const verify = await fetch(`${base}/api/auth/verify`, {
      headers: { authorization: `Bearer ${refreshed.body.accessToken as string}` },
    });
    expect(await verify.json()).toMatchObject({ valid: true, roles: ["user"] });

    expect((await post("/v1/auth/logout", {}, refreshed.body.accessToken as string)).status).toBe(204);
    expect((await post("/v1/auth/refresh", { refreshToken: refreshed.body.refreshToken })).status).toBe(401);
  });

  it("lets the admin list users, and publishes the verification keys", async () => {
    const login = await post("/v1/auth/login", { username: admin.username, password: admin.password });
    for (const username of ["firstadmin", "e2euser"]) {
      const list = await fetch(`${base}/v1/users?q=${username}&limit=10`, {
        headers: { authorization: `Bearer ${login.body.accessToken as string}` },
      });
      const page = (await list.json()) as { users: { username: string }[] };
      expect(page.users.map((u) => u.username)).toEqual([username]);
    }
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys[0]?.kid).toBeTruthy();
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});
