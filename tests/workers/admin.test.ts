// The admin console's routes (docs/admin.md): the page and its files under a strict CSP, a user's sessions and
// revoking one, and the hub's room directory; with the denials for everyone but an admin.
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_ASSETS } from "../../src/lib/admin/assets.generated";
import { api, createAdmin, json, registerUser, send, type Tokens } from "./support";

let admin: Tokens & { password: string };
beforeAll(async () => {
  admin = await createAdmin();
});

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

describe("the console's files", () => {
  it("serve the page with a CSP that allows scripts and styles from this origin only", async () => {
    const res = await send("GET", "/admin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text();
    // No inline script: every <script> names a src on this origin.
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/admin\/[a-z.]+"/);
    expect(html).not.toMatch(/<script[^>]*>\s*[^<\s]/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("serve the script, the style sheet and uPlot with their types, and 304 for a current ETag", async () => {
    for (const [file, type] of [
      ["console.js", "text/javascript"],
      ["console.css", "text/css"],
      ["uplot.js", "text/javascript"],
      ["uplot.css", "text/css"],
    ] as const) {
      const res = await send("GET", `/admin/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
      const body = await res.text();
      expect(body).toBe(ADMIN_ASSETS[file]?.body);
      const again = await send("GET", `/admin/${file}`, {
        headers: { "if-none-match": res.headers.get("etag") ?? "" },
      });
      expect(again.status).toBe(304);
    }
    expect(await (await send("GET", "/admin/uplot.js")).text()).toContain("uPlot");
  });

  it("answer 404 for any other file", async () => {
    expect((await send("GET", "/admin/secrets.json")).status).toBe(404);
    expect((await send("GET", "/admin/..%2Fwrangler.toml")).status).toBe(404);
    expect((await send("GET", "/admin/constructor")).status).toBe(404);
  });
});

describe("admin routes", () => {
  it("refuse a signed-in non-admin with 403 and an anonymous caller with 401", async () => {
    const u = await registerUser();
    const routes: [string, string][] = [
      ["GET", `/v1/admin/users/${u.user.id}/sessions`],
      ["DELETE", `/v1/admin/sessions/${crypto.randomUUID()}`],
      ["GET", "/v1/admin/hub/rooms"],
    ];
    for (const [method, path] of routes) {
      expect((await api(method, path, { token: u.accessToken })).status, `${method} ${path}`).toBe(403);
      expect((await api(method, path)).status, `${method} ${path} anonymous`).toBe(401);
    }
  });

  it("list a user's sessions and revoke one, whose refresh token then stops working", async () => {
    const u = await registerUser();
    const second = await json<Tokens>(
      await api("POST", "/v1/auth/login", { body: { username: u.user.username, password: u.password } }),
    );
    const list = async () =>
      json<{ sessions: { id: string; live: boolean; revokedAt: string | null }[] }>(
        await api("GET", `/v1/admin/users/${u.user.id}/sessions`, { token: admin.accessToken }),
      );
    const before = await list();
    expect(before.sessions).toHaveLength(2);
    expect(before.sessions.every((s) => s.live)).toBe(true);
    // The newest first: the second sign-in's session.
    const target = before.sessions[0]?.id ?? "";
    expect((await api("DELETE", `/v1/admin/sessions/${target}`, { token: admin.accessToken })).status).toBe(204);
    const after = await list();
    expect(after.sessions.find((s) => s.id === target)).toMatchObject({ live: false });
    expect(after.sessions.filter((s) => s.live)).toHaveLength(1);
    expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken: second.refreshToken } })).status).toBe(401);
    expect((await api("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(200);
    expect((await api("DELETE", `/v1/admin/sessions/${target}`, { token: admin.accessToken })).status).toBe(409);
    const unknown = await api("DELETE", `/v1/admin/sessions/${crypto.randomUUID()}`, { token: admin.accessToken });
    expect(unknown.status).toBe(404);
    const nobody = await api("GET", `/v1/admin/users/${crypto.randomUUID()}/sessions`, { token: admin.accessToken });
    expect(nobody.status).toBe(404);
    expect((await api("GET", "/v1/admin/users/not-a-uuid/sessions", { token: admin.accessToken })).status).toBe(400);
  });

  it("list a hub room while someone is in it, and drop it when they leave", async () => {
    const u = await registerUser();
    const room = `public:admin${Date.now().toString(36)}`;
    const res = await send("GET", `/v1/hub/rooms/${room}`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `bearer.${u.accessToken}` },
    });
    const ws = res.webSocket;
    if (!ws) throw new Error(`no socket: ${res.status}`);
    ws.accept();
    type Rooms = { rooms: { room: string; online: number; sockets: number; owner: string | null }[] };
    const rooms = () => api("GET", "/v1/admin/hub/rooms", { token: admin.accessToken }).then((r) => json<Rooms>(r));
    const listed = await until(rooms, (r) => r.rooms.some((x) => x.room === room), "the room listed");
    expect(listed.rooms.find((x) => x.room === room)).toMatchObject({ online: 1, sockets: 1, owner: null });
    ws.close(1000);
    await until(rooms, (r) => !r.rooms.some((x) => x.room === room), "the room dropped");
  });

  it("list a members-only room with its owner and members even with nobody online", async () => {
    const room = `room:admin${Date.now().toString(36)}`;
    const created = await api("POST", "/v1/hub/rooms", { token: admin.accessToken, body: { room } });
    expect(created.status).toBe(201);
    type Rooms = { rooms: { room: string; online: number; owner: string | null; members: number }[] };
    const rooms = () => api("GET", "/v1/admin/hub/rooms", { token: admin.accessToken }).then((r) => json<Rooms>(r));
    const listed = await until(rooms, (r) => r.rooms.some((x) => x.room === room), "the room listed");
    expect(listed.rooms.find((x) => x.room === room)).toMatchObject({ online: 0, owner: admin.user.id, members: 1 });
    expect((await api("DELETE", `/v1/hub/rooms/${room}`, { token: admin.accessToken })).status).toBe(204);
    await until(rooms, (r) => !r.rooms.some((x) => x.room === room), "the room dropped");
  });
});

describe("the admin job list", () => {
  it("pages newest first with order=newest", async () => {
    const u = await registerUser();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api("POST", "/v1/jobs", {
        token: u.accessToken,
        body: { type: "speech", input: { text: `n${i}` } },
      });
      expect(res.status).toBe(202);
      ids.push((await json<{ id: string }>(res)).id);
    }
    type Page = { jobs: { id: string }[]; next: number | null };
    const newest = await json<Page>(await api("GET", "/v1/admin/jobs?order=newest", { token: admin.accessToken }));
    const mine = newest.jobs.map((j) => j.id).filter((id) => ids.includes(id));
    expect(mine).toEqual([...ids].reverse());
    const oldest = await json<Page>(await api("GET", "/v1/admin/jobs", { token: admin.accessToken }));
    expect(oldest.jobs.map((j) => j.id).filter((id) => ids.includes(id))).toEqual(ids);
  });
});
