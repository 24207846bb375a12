// The hub's room objects through their RPC and real sockets inside workerd, plus the /v1/hub routes.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { HUB_REGISTER_GRACE_MS, type HubConnections } from "../../durable-objects/hub-connections";
import { HUB_HISTORY_LIMIT, type Hub } from "../../durable-objects/hub-room";
import { db } from "../../src/lib/db/client";
import { FLOOD_WINDOW_MS, FloodGuard } from "../../src/lib/hub/flood";
import type { HubFrame } from "../../src/lib/hub/frames";
import {
  HUB_CONNECT_HEADER,
  HUB_HISTORY_TRUNCATED,
  publishToRoom,
  publishToUser,
  roomStub,
  withinBytes,
} from "../../src/lib/hub/rooms";
import { updateUser } from "../../src/lib/identity/users";
import { api, createAdmin, json, keptFrames, objectRows, registerUser, send } from "./support";

/** Every socket a test opened, closed after it so none outlives its test. */
const opened: WebSocket[] = [];
afterEach(() => {
  for (const ws of opened.splice(0)) {
    try {
      ws.close(1000);
    } catch {
      // already closed by the test or the server
    }
  }
});

/** The sockets a user's HubConnections object counts. */
const socketsCounted = async (counter: DurableObjectStub) =>
  (await objectRows<{ n: number }>(counter, "SELECT COUNT(*) AS n FROM sockets"))[0]?.n ?? 0;

const freshRoom = (prefix = "public:t") => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

/** A socket opened through the Worker's own fetch, with every frame it receives kept in order. */
async function connect(room: string, opts: { token?: string; query?: string; protocols?: string[] } = {}) {
  const protocols = opts.protocols ?? (opts.token ? [`bearer.${opts.token}`] : []);
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (protocols.length) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
  const res = await send("GET", `/v1/hub/rooms/${room}${opts.query ?? ""}`, { headers });
  const ws = res.webSocket;
  const frames: HubFrame[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number } | undefined;
  if (ws) {
    opened.push(ws);
    ws.accept();
    ws.addEventListener("message", (e) => {
      frames.push(JSON.parse(e.data as string) as HubFrame);
      for (const w of waiters.splice(0)) w();
    });
    ws.addEventListener("close", (e) => {
      closed = { code: e.code };
      for (const w of waiters.splice(0)) w();
    });
  }
  /** Waits until a received frame matches, and returns it. */
  async function until(match: (f: HubFrame) => boolean, ms = 3000): Promise<HubFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = frames.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  return { res, ws, frames, until, closed: () => closed };
}

/** The room's kept frames, parsed. */
async function historyOf(room: string, since?: number): Promise<HubFrame[]> {
  return (await keptFrames(room, since)).map((text) => JSON.parse(text) as HubFrame);
}

const joined = (userId: string) => (f: HubFrame) =>
  f.type === "presence" && (f.data as { event: string; user: { id: string } }).user.id === userId;

describe("room history (RPC)", () => {
  it("numbers published events 1, 2, 3 and keeps them in order", async () => {
    const room = freshRoom();
    const seqs = [];
    for (const n of [1, 2, 3]) seqs.push((await publishToRoom(env, room, { data: { n } })).seq);
    expect(seqs).toEqual([1, 2, 3]);
    const history = await historyOf(room);
    expect(history.map((f) => [f.type, f.seq, f.room, f.data])).toEqual([
      ["event", 1, room, { n: 1 }],
      ["event", 2, room, { n: 2 }],
      ["event", 3, room, { n: 3 }],
    ]);
  });

  it(`keeps only the last ${HUB_HISTORY_LIMIT} messages, and since replays the tail in order`, async () => {
    const room = freshRoom();
    const stub = roomStub(env, room);
    await runInDurableObject(stub, (hub: Hub) => {
      for (let i = 1; i <= HUB_HISTORY_LIMIT + 10; i++) hub.publish({ data: i });
    });
    const all = await historyOf(room);
    expect(all).toHaveLength(HUB_HISTORY_LIMIT);
    expect(all[0]?.seq).toBe(11);
    expect(all.at(-1)?.seq).toBe(HUB_HISTORY_LIMIT + 10);
    expect((await historyOf(room, 505)).map((f) => f.seq)).toEqual([506, 507, 508, 509, 510]);
    expect(await stub.stats()).toEqual({ room, online: 0, lastSeq: HUB_HISTORY_LIMIT + 10 });
  });

  it("publishToUser lands in user:<id>", async () => {
    const { seq } = await publishToUser(env, "u-123", { data: { job: "done" } });
    const [frame] = await historyOf("user:u-123", seq - 1);
    expect(frame).toMatchObject({ type: "event", room: "user:u-123", seq, data: { job: "done" } });
  });

  it("refuses to publish to a members-only room nobody created (404 over HTTP), never to public: or user:", async () => {
    const admin = await createAdmin();
    const room = freshRoom("team:p");
    await expect(publishToRoom(env, room, { data: "early" })).rejects.toMatchObject({ code: "not_found" });
    const res = await api("POST", `/v1/hub/rooms/${room}/messages`, { token: admin.accessToken, body: { data: 1 } });
    expect(res.status).toBe(404);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe("not_found");
    expect(await historyOf(room)).toEqual([]);
    expect((await publishToRoom(env, freshRoom(), { data: 1 })).seq).toBe(1);
    expect((await publishToUser(env, crypto.randomUUID(), { data: 1 })).seq).toBe(1);

    const owner = await registerUser();
    await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } });
    expect((await publishToRoom(env, room, { data: "now" })).seq).toBe(1);
    const s = await connect(room, { token: owner.accessToken, query: "?since=0" });
    await s.until(joined(owner.user.id));
    expect(s.frames.filter((f) => f.seq !== undefined).map((f) => f.data)).toEqual(["now"]);
  });

  it("starts a members-only room's history afresh when it is created, without reusing a seq", async () => {
    const admin = await createAdmin();
    const owner = await registerUser();
    const room = freshRoom("team:s");
    // Admins may enter any members-only room, one nobody created included, and chat there.
    const early = await connect(room, { token: admin.accessToken });
    await early.until(joined(admin.user.id));
    early.ws?.send(JSON.stringify({ type: "chat", data: "stale" }));
    await early.until((f) => f.seq === 1);
    early.ws?.close(1000);

    expect((await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } })).status).toBe(201);
    expect(await historyOf(room)).toEqual([]);
    expect((await publishToRoom(env, room, { data: "fresh" })).seq).toBe(2);
    const s = await connect(room, { token: owner.accessToken, query: "?since=0" });
    await s.until(joined(owner.user.id));
    expect(s.frames.filter((f) => f.seq !== undefined).map((f) => f.data)).toEqual(["fresh"]);
  });
});

describe("connecting", () => {
  it("refuses an upgrade without identity with 401 and a bad token with 401", async () => {
    const none = await connect(freshRoom());
    expect(none.res.status).toBe(401);
    expect(none.ws).toBeNull();
    expect((await json<{ error: { code: string } }>(none.res)).error.code).toBe("unauthorized");
    expect((await connect(freshRoom(), { token: "not.a.jwt" })).res.status).toBe(401);
  });

  it("accepts the token as a subprotocol and answers a fixed protocol name, never the token", async () => {
    const user = await registerUser();
    const room = freshRoom();
    const plain = await connect(room, { token: user.accessToken });
    expect(plain.res.status).toBe(101);
    expect(plain.res.headers.get("sec-websocket-protocol")).toBe("tessera.hub.v1");
    expect([...plain.res.headers].map(([, v]) => v).join("\n")).not.toContain(user.accessToken);
    const named = await connect(room, { protocols: ["tessera.hub.v1", `bearer.${user.accessToken}`] });
    expect(named.res.headers.get("sec-websocket-protocol")).toBe("tessera.hub.v1");
    const presence = await plain.until(joined(user.user.id));
    expect(presence.data).toMatchObject({
      event: "join",
      members: [{ id: user.user.id, username: user.user.username }],
    });
    plain.ws?.close();
    named.ws?.close();
  });

  it("lets a user into their own user: channel only (403 for another's)", async () => {
    const a = await registerUser();
    const b = await registerUser();
    expect((await connect(`user:${a.user.id}`, { token: a.accessToken })).res.status).toBe(101);
    const other = await connect(`user:${b.user.id}`, { token: a.accessToken });
    expect(other.res.status).toBe(403);
    expect((await json<{ error: { code: string } }>(other.res)).error.code).toBe("forbidden");
  });

  it("lets a members-only room in only its members, managed by its owner", async () => {
    const owner = await registerUser();
    const member = await registerUser();
    const stranger = await registerUser();
    const room = freshRoom("team:t");
    const path = `/v1/hub/rooms/${room}`;
    // Nobody may enter a room that nobody created, and nobody may manage it.
    expect((await connect(room, { token: member.accessToken })).res.status).toBe(403);
    expect((await api("PUT", `${path}/members/${member.user.id}`, { token: owner.accessToken })).status).toBe(404);

    const created = await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } });
    expect(created.status).toBe(201);
    expect(await json(created)).toEqual({ room, owner: owner.user.id, members: [owner.user.id] });
    expect((await api("POST", "/v1/hub/rooms", { token: stranger.accessToken, body: { room } })).status).toBe(409);
    expect((await connect(room, { token: member.accessToken })).res.status).toBe(403);

    expect((await api("PUT", `${path}/members/${member.user.id}`, { token: owner.accessToken })).status).toBe(204);
    expect(await json(await api("GET", `${path}/members`, { token: member.accessToken }))).toEqual({
      room,
      owner: owner.user.id,
      members: [owner.user.id, member.user.id].sort(),
    });
    // A member may read the list but not manage it; a stranger is not told the room exists.
    expect((await api("PUT", `${path}/members/${stranger.user.id}`, { token: member.accessToken })).status).toBe(403);
    expect((await api("DELETE", path, { token: member.accessToken })).status).toBe(403);
    expect((await api("GET", `${path}/members`, { token: stranger.accessToken })).status).toBe(404);
    expect((await api("PUT", `${path}/members/${stranger.user.id}`, { token: stranger.accessToken })).status).toBe(404);
    // Unknown users cannot be added; the owner cannot be removed.
    const nobody = crypto.randomUUID();
    expect((await api("PUT", `${path}/members/${nobody}`, { token: owner.accessToken })).status).toBe(404);
    expect((await api("DELETE", `${path}/members/${owner.user.id}`, { token: owner.accessToken })).status).toBe(409);

    const inside = await connect(room, { token: member.accessToken });
    expect(inside.res.status).toBe(101);
    await inside.until(joined(member.user.id));
    expect((await api("DELETE", `${path}/members/${member.user.id}`, { token: owner.accessToken })).status).toBe(204);
    await inside.until(() => inside.closed() !== undefined);
    expect(inside.closed()?.code).toBe(1008);
    expect((await connect(room, { token: member.accessToken })).res.status).toBe(403);
    expect((await api("DELETE", `${path}/members/${member.user.id}`, { token: owner.accessToken })).status).toBe(404);
    expect(
      (await api("PUT", `/v1/hub/rooms/public:x/members/${member.user.id}`, { token: owner.accessToken })).status,
    ).toBe(400);
    expect(
      (await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room: "public:mine" } })).status,
    ).toBe(400);
  });

  it("refuses at the room itself a member removed after the Worker let them through", async () => {
    const owner = await registerUser();
    const room = freshRoom("team:r");
    await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } });
    const connect = (userId: string) =>
      roomStub(env, room).fetch(
        new Request("https://hub/connect", {
          headers: {
            upgrade: "websocket",
            [HUB_CONNECT_HEADER]: JSON.stringify({
              room,
              user: { id: userId, username: "u" },
              requestId: "r1",
              asMember: true,
            }),
          },
        }),
      );
    const outsider = await connect(crypto.randomUUID());
    expect(outsider.status).toBe(403);
    expect((await json<{ error: { code: string } }>(outsider)).error.code).toBe("forbidden");
    const inside = await connect(owner.user.id);
    expect(inside.status).toBe(101);
    inside.webSocket?.accept();
    inside.webSocket?.close(1000);
  });

  it("lets a member leave, the owner hand the room on, an admin manage it, and the owner delete it", async () => {
    const owner = await registerUser();
    const next = await registerUser();
    const admin = await createAdmin();
    const room = freshRoom("team:h");
    const path = `/v1/hub/rooms/${room}`;
    await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } });
    expect((await api("PUT", `${path}/members/${next.user.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await api("DELETE", `${path}/members/${next.user.id}`, { token: next.accessToken })).status).toBe(204);

    const handed = await api("PUT", `${path}/owner`, { token: owner.accessToken, body: { userId: next.user.id } });
    expect(handed.status).toBe(200);
    expect(await json(handed)).toEqual({ room, owner: next.user.id, members: [owner.user.id, next.user.id].sort() });
    // The old owner is now a member: no longer allowed to manage.
    expect((await api("DELETE", path, { token: owner.accessToken })).status).toBe(403);
    // An admin manages any members-only room, without being a member.
    expect((await api("DELETE", `${path}/members/${owner.user.id}`, { token: admin.accessToken })).status).toBe(204);

    const s = await connect(room, { token: next.accessToken, query: "" });
    await s.until(joined(next.user.id));
    s.ws?.send(JSON.stringify({ type: "chat", data: "kept?" }));
    await s.until((f) => f.seq === 1);
    expect((await api("DELETE", path, { token: next.accessToken })).status).toBe(204);
    await s.until(() => s.closed() !== undefined);
    expect(s.closed()?.code).toBe(1008);
    expect((await api("GET", `${path}/members`, { token: admin.accessToken })).status).toBe(404);
    // Made again, the room starts empty, and never reuses a sequence number.
    await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } });
    expect(await historyOf(room)).toEqual([]);
    expect((await publishToRoom(env, room, { data: "new" })).seq).toBe(2);
  });

  it("checks the live session and current roles, not the token's: a demoted admin and a deactivated user are refused", async () => {
    const owner = await registerUser();
    const demoted = await createAdmin();
    const deactivated = await registerUser();
    const room = freshRoom("team:live");
    expect((await api("POST", "/v1/hub/rooms", { token: owner.accessToken, body: { room } })).status).toBe(201);
    // While an admin, the token's holder may enter a members-only room they are not a member of.
    const asAdmin = await connect(room, { token: demoted.accessToken });
    expect(asAdmin.res.status).toBe(101);
    const ticketBefore = await json<{ ticket: string }>(
      await api("POST", "/v1/hub/tickets", { token: demoted.accessToken }),
    );

    await updateUser(db(env), demoted.user.id, { roles: ["user"] });
    await updateUser(db(env), deactivated.user.id, { active: false });

    // Demoted: the token still says admin; the hub asks the database.
    expect((await connect(room, { token: demoted.accessToken })).res.status).toBe(403);
    expect((await connect(room, { query: `?ticket=${ticketBefore.ticket}` })).res.status).toBe(403);
    expect((await api("GET", `/v1/hub/rooms/${room}`, { token: demoted.accessToken })).status).toBe(403);
    expect((await api("GET", `/v1/hub/rooms/${room}/members`, { token: demoted.accessToken })).status).toBe(404);

    // Deactivated: no socket, no ticket, no stats, even in a public room.
    const open = freshRoom();
    expect((await connect(open, { token: deactivated.accessToken })).res.status).toBe(401);
    expect((await api("POST", "/v1/hub/tickets", { token: deactivated.accessToken })).status).toBe(401);
    expect((await api("GET", `/v1/hub/rooms/${open}`, { token: deactivated.accessToken })).status).toBe(401);
  });

  it("takes a single-use ticket instead of a token", async () => {
    const user = await registerUser();
    const res = await api("POST", "/v1/hub/tickets", { token: user.accessToken });
    expect(res.status).toBe(201);
    const { ticket, expiresIn } = await json<{ ticket: string; expiresIn: number }>(res);
    expect(expiresIn).toBe(60);
    const room = freshRoom();
    const first = await connect(room, { query: `?ticket=${ticket}` });
    expect(first.res.status).toBe(101);
    await first.until(joined(user.user.id));
    expect((await connect(room, { query: `?ticket=${ticket}` })).res.status).toBe(401);
    expect((await connect(room, { query: "?ticket=hubt_made_up" })).res.status).toBe(401);
  });

  it("refuses a user's sixth socket across rooms (and /ws) with 429, and frees a place when one closes", async () => {
    const user = await registerUser();
    const sockets = [];
    for (let i = 0; i < 4; i++) {
      const s = await connect(freshRoom(), { token: user.accessToken });
      expect(s.res.status).toBe(101);
      sockets.push(s);
    }
    const legacy = await send("GET", "/ws", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `bearer.${user.accessToken}` },
    });
    expect(legacy.status).toBe(101);
    legacy.webSocket?.accept();
    if (legacy.webSocket) opened.push(legacy.webSocket);
    const sixth = await connect(freshRoom(), { token: user.accessToken });
    expect(sixth.res.status).toBe(429);
    expect(sixth.res.headers.get("retry-after")).toBe("5");
    expect(
      (
        await send("GET", "/ws", {
          headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `bearer.${user.accessToken}` },
        })
      ).status,
    ).toBe(429);

    sockets[0]?.ws?.close(1000);
    const counter = env.HUB_CONNECTIONS.get(env.HUB_CONNECTIONS.idFromName(user.user.id));
    for (let i = 0; i < 50 && (await socketsCounted(counter)) > 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await connect(freshRoom(), { token: user.accessToken })).res.status).toBe(101);
  });

  it("heals the per-user count when a room never reported its closes", async () => {
    const user = await registerUser();
    const counter = env.HUB_CONNECTIONS.get(env.HUB_CONNECTIONS.idFromName(user.user.id));
    const ghostRoom = freshRoom();
    // Five sockets a room once held and never released (as if the room had died), past the grace period.
    await runInDurableObject(counter, (_obj: HubConnections, state) => {
      for (let i = 0; i < 5; i++) {
        state.storage.sql.exec(
          "INSERT INTO sockets (conn_id, holder, opened_at) VALUES (?, ?, ?)",
          `ghost-${i}`,
          ghostRoom,
          Date.now() - HUB_REGISTER_GRACE_MS - 1,
        );
      }
      expect(state.storage.sql.exec("SELECT 1 FROM sockets").toArray()).toHaveLength(5);
    });
    const s = await connect(freshRoom(), { token: user.accessToken });
    expect(s.res.status).toBe(101);
    expect(await socketsCounted(counter)).toBe(1);
  });
});

describe("frames", () => {
  it("numbers chat, replays since, sends typing to others only, and says who left", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const room = freshRoom();
    const sa = await connect(room, { token: a.accessToken });
    await sa.until(joined(a.user.id));
    const sb = await connect(room, { token: b.accessToken });
    await sa.until(joined(b.user.id));
    sa.ws?.send(JSON.stringify({ type: "chat", data: { text: "one" }, id: "c1" }));
    sa.ws?.send(JSON.stringify({ type: "typing" }));
    sa.ws?.send(JSON.stringify({ type: "chat", data: { text: "two" } }));
    const two = await sb.until((f) => f.type === "chat" && f.seq === 2);
    expect(two).toMatchObject({ room, data: { text: "two" }, from: { id: a.user.id } });
    await sb.until((f) => f.type === "typing" && f.from?.id === a.user.id);
    await sa.until((f) => f.seq === 2);
    expect(sa.frames.some((f) => f.type === "typing")).toBe(false);
    expect(sa.frames.find((f) => f.seq === 1)).toMatchObject({ id: "c1", data: { text: "one" } });

    const late = await connect(room, { token: b.accessToken, query: "?since=1" });
    await late.until(joined(b.user.id));
    const replayed = late.frames.filter((f) => f.seq !== undefined).map((f) => f.seq);
    expect(replayed).toEqual([2]);
    expect(late.frames.findIndex((f) => f.seq === 2)).toBeLessThan(late.frames.findIndex(joined(b.user.id)));

    sa.ws?.close(1000);
    const leave = await sb.until((f) => f.type === "presence" && (f.data as { event: string }).event === "leave");
    expect(leave.data).toEqual({ event: "leave", user: { id: a.user.id, username: a.user.username } });
  });

  it("sends the member list to the joiner only, and announces a user once however many sockets they open", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const room = freshRoom();
    const sa = await connect(room, { token: a.accessToken });
    await sa.until(joined(a.user.id));
    const sb = await connect(room, { token: b.accessToken });
    const own = await sb.until(joined(b.user.id));
    expect(((own.data as { members: { id: string }[] }).members ?? []).map((m) => m.id).sort()).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    const told = await sa.until(joined(b.user.id));
    expect(told.data).toEqual({ event: "join", user: { id: b.user.id, username: b.user.username } });
    // b's second socket: its own join, but nothing to a; closing it says nothing either (b is still here).
    const sb2 = await connect(room, { token: b.accessToken });
    await sb2.until(joined(b.user.id));
    sb2.ws?.close(1000);
    for (let i = 0; i < 50 && (await roomStub(env, room).openSockets(b.user.id)).length > 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    sa.ws?.send(JSON.stringify({ type: "chat", data: "marker" }));
    await sb.until((f) => f.type === "chat");
    await sa.until((f) => f.type === "chat");
    expect(sa.frames.filter((f) => f.type === "presence" && f !== sa.frames[0])).toHaveLength(1);
  });

  it("says so before the replay when since is older than the kept history", async () => {
    const a = await registerUser();
    const room = freshRoom();
    const stub = roomStub(env, room);
    await runInDurableObject(stub, (hub: Hub) => {
      for (let i = 1; i <= HUB_HISTORY_LIMIT + 20; i++) hub.publish({ data: i });
    });
    const s = await connect(room, { token: a.accessToken, query: "?since=5" });
    await s.until(joined(a.user.id));
    expect(s.frames[0]).toMatchObject({
      type: "event",
      room,
      data: { kind: HUB_HISTORY_TRUNCATED, since: 5, oldestSeq: 21, lastSeq: HUB_HISTORY_LIMIT + 20 },
    });
    expect(s.frames[0]?.seq).toBeUndefined();
    expect(s.frames[1]?.seq).toBe(21);
    expect(s.frames.filter((f) => f.seq !== undefined)).toHaveLength(HUB_HISTORY_LIMIT);
    // A since the history still covers gets no such event.
    const fine = await connect(room, { token: a.accessToken, query: "?since=20" });
    await fine.until(joined(a.user.id));
    expect(fine.frames[0]?.seq).toBe(21);
    expect(fine.frames.some((f) => f.type === "event" && f.seq === undefined)).toBe(false);
  });

  it("answers an oversized or invalid frame with an error frame and keeps the socket open", async () => {
    const a = await registerUser();
    const room = freshRoom();
    const s = await connect(room, { token: a.accessToken });
    await s.until(joined(a.user.id));
    s.ws?.send(JSON.stringify({ type: "chat", data: "x".repeat(64 * 1024 + 1) }));
    const tooBig = await s.until((f) => f.type === "error");
    expect(tooBig.data).toMatchObject({ error: { code: "payload_too_large" } });
    expect((tooBig.data as { error: { requestId: string } }).error.requestId).not.toBe("");
    s.ws?.send(JSON.stringify({ type: "shout" }));
    const bad = await s.until((f) => f.type === "error" && f !== tooBig);
    expect(bad.data).toMatchObject({ error: { code: "invalid_request" } });
    s.ws?.send(JSON.stringify({ type: "chat", data: "still here" }));
    expect(await s.until((f) => f.type === "chat")).toMatchObject({ data: "still here", seq: 1 });
    expect(s.closed()).toBeUndefined();
  });

  it("rate-limits a flood with error frames, then closes it with 1008", async () => {
    const a = await registerUser();
    const s = await connect(freshRoom(), { token: a.accessToken });
    await s.until(joined(a.user.id));
    for (let i = 0; i < 100; i++) s.ws?.send(JSON.stringify({ type: "typing" }));
    await s.until(() => s.closed() !== undefined);
    expect(s.closed()?.code).toBe(1008);
    expect(s.frames.filter((f) => f.type === "error").length).toBeGreaterThan(0);
    expect(s.frames.find((f) => f.type === "error")?.data).toMatchObject({ error: { code: "rate_limited" } });
  });
});

describe("flood of oversized frames", () => {
  it("charges oversized frames to the rate limit, so a stream of them ends in 1008", async () => {
    const a = await registerUser();
    const s = await connect(freshRoom(), { token: a.accessToken });
    await s.until(joined(a.user.id));
    const huge = JSON.stringify({ type: "chat", data: "x".repeat(64 * 1024 + 1) });
    for (let i = 0; i < 100; i++) s.ws?.send(huge);
    await s.until(() => s.closed() !== undefined);
    expect(s.closed()?.code).toBe(1008);
    const codes = s.frames
      .filter((f) => f.type === "error")
      .map((f) => (f.data as { error: { code: string } }).error.code);
    expect(codes[0]).toBe("payload_too_large");
    expect(codes).toContain("rate_limited");
  });
});

describe("HTTP routes", () => {
  it("reads stats for a signed-in user who may enter, 401 without a token, 403 for another's channel", async () => {
    const user = await registerUser();
    const room = freshRoom();
    await publishToRoom(env, room, { data: 1 });
    const res = await api("GET", `/v1/hub/rooms/${room}`, { token: user.accessToken });
    expect(await json(res)).toEqual({ room, online: 0, lastSeq: 1 });
    expect((await api("GET", `/v1/hub/rooms/${room}`)).status).toBe(401);
    expect((await api("GET", "/v1/hub/rooms/user:someone-else", { token: user.accessToken })).status).toBe(403);
  });

  it("publishes an admin's event to a user's channel, and refuses a non-admin with 403", async () => {
    const admin = await createAdmin();
    const user = await registerUser();
    const channel = `user:${user.user.id}`;
    const s = await connect(channel, { token: user.accessToken });
    await s.until(joined(user.user.id));
    const res = await api("POST", `/v1/hub/rooms/${channel}/messages`, {
      token: admin.accessToken,
      body: { data: { kind: "notice" } },
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ room: channel, seq: 1 });
    expect(await s.until((f) => f.type === "event")).toMatchObject({ room: channel, seq: 1, data: { kind: "notice" } });
    const denied = await api("POST", `/v1/hub/rooms/${channel}/messages`, {
      token: user.accessToken,
      body: { data: {} },
    });
    expect(denied.status).toBe(403);
  });
});

describe("FloodGuard", () => {
  it("allows a burst of the rate, rejects beyond it, and closes after a second's worth of rejects", () => {
    const guard = new FloodGuard(3, 0);
    expect([guard.take(0), guard.take(0), guard.take(0)]).toEqual(["allow", "allow", "allow"]);
    expect([guard.take(0), guard.take(0), guard.take(0), guard.take(0)]).toEqual([
      "reject",
      "reject",
      "reject",
      "close",
    ]);
  });

  it("refills at the rate, and counts rejects afresh in each window", () => {
    const guard = new FloodGuard(3, 0);
    for (let i = 0; i < 6; i++) guard.take(0); // three allowed, three rejected: one short of closing
    expect(guard.take(1000 / 3)).toBe("allow"); // a third of a second refills one token
    const later = FLOOD_WINDOW_MS + 1000;
    for (let i = 0; i < 3; i++) expect(guard.take(later)).toBe("allow");
    // The earlier window's three rejects no longer count: three more are rejected before a close.
    expect([guard.take(later), guard.take(later), guard.take(later), guard.take(later)]).toEqual([
      "reject",
      "reject",
      "reject",
      "close",
    ]);
  });
});

describe("withinBytes", () => {
  it("counts UTF-8 bytes, not characters, at the boundary", () => {
    expect(withinBytes("a".repeat(256), 256)).toBe(true);
    expect(withinBytes("a".repeat(257), 256)).toBe(false);
    expect(withinBytes("a".repeat(100), 256)).toBe(true);
    // "é" is 2 bytes and "€" 3: 128 of the one fit in 256 bytes, 86 of the other do not.
    expect(withinBytes("é".repeat(128), 256)).toBe(true);
    expect(withinBytes("é".repeat(129), 256)).toBe(false);
    expect(withinBytes("€".repeat(86), 256)).toBe(false);
    expect(withinBytes(new ArrayBuffer(256), 256)).toBe(true);
    expect(withinBytes(new ArrayBuffer(257), 256)).toBe(false);
  });
});
