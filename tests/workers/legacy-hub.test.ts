// /ws: the old hub's frames over real sockets inside workerd, authenticated, and its admin routes.
import { describe, expect, it } from "vitest";
import type { LegacyHubFrame } from "../../src/lib/hub/frames";
import { api, createAdmin, json, registerUser, send } from "./support";

/** A socket on the simple hub's /ws, or on websocket-hub's own base path (`/websocket-hub/ws`). */
async function connect(token?: string, path = "/ws") {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (token) headers["Sec-WebSocket-Protocol"] = `bearer.${token}`;
  const res = await send("GET", `${path}?user_id=someone-else`, { headers });
  const frames: LegacyHubFrame[] = [];
  const ws = res.webSocket;
  ws?.accept();
  ws?.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string) as LegacyHubFrame);
  });
  let closed: number | undefined;
  ws?.addEventListener("close", (e) => {
    closed = e.code;
  });
  async function until(match: (f: LegacyHubFrame) => boolean): Promise<LegacyHubFrame> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const hit = frames.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** The code the server closed the socket with, once it has. */
  async function closeCode(): Promise<number> {
    const deadline = Date.now() + 3000;
    while (closed === undefined) {
      if (Date.now() > deadline) throw new Error(`not closed; frames ${JSON.stringify(frames.map((f) => f.type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return closed;
  }
  const sendFrame = (frame: unknown) => ws?.send(JSON.stringify(frame));
  return { res, ws, frames, until, closeCode, send: sendFrame };
}

describe("/ws", () => {
  it("refuses a socket without a token with 401, whatever user_id says", async () => {
    const res = (await connect()).res;
    expect(res.status).toBe(401);
  });

  it("says connected, puts everyone in general, and sends chat there, typing to the others, broadcast to all", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const sa = await connect(a.accessToken);
    expect(sa.res.status).toBe(101);
    const hello = await sa.until((f) => f.type === "connected");
    expect(hello).toMatchObject({ user_id: a.user.id, room: "general", data: { rooms: ["general"] } });
    const sb = await connect(b.accessToken);
    const online = await sa.until((f) => f.type === "presence" && f.user_id === b.user.id && f.content === "online");
    // Both old hubs' presence fields: the simple hub's status, websocket-hub's state and unix timestamp.
    expect(online.data).toEqual({ status: "online", state: "connected", timestamp: expect.any(Number) });

    sa.send({ type: "chat", content: "hello general" });
    expect(await sb.until((f) => f.type === "chat")).toMatchObject({
      user_id: a.user.id,
      room: "general",
      content: "hello general",
    });
    sa.send({ type: "typing" });
    await sb.until((f) => f.type === "typing");
    sa.send({ type: "broadcast", content: "all" });
    await sb.until((f) => f.type === "broadcast");
    await sa.until((f) => f.type === "broadcast");
    expect(sa.frames.some((f) => f.type === "typing")).toBe(false);

    sa.send({ type: "join", data: { room: "side" } });
    await sa.until((f) => f.type === "status" && f.room === "side" && f.content === "joined");
    sa.send({ type: "chat", room: "side", content: "only a" });
    await sa.until((f) => f.type === "chat" && f.content === "only a");
    sb.send({ type: "chat", room: "side", content: "not joined" });
    expect((await sb.until((f) => f.type === "error")).data).toMatchObject({ error: { code: "forbidden" } });
    expect(sb.frames.some((f) => f.content === "only a")).toBe(false);

    sb.ws?.close(1000);
    const offline = await sa.until((f) => f.type === "presence" && f.user_id === b.user.id && f.content === "offline");
    expect(offline.data).toMatchObject({ status: "offline", state: "disconnected" });
    sa.ws?.close(1000);
  });

  it("answers an oversized frame with an error frame instead of dropping it", async () => {
    const a = await registerUser();
    const s = await connect(a.accessToken);
    s.send({ type: "chat", content: "x".repeat(64 * 1024 + 1) });
    expect((await s.until((f) => f.type === "error")).data).toMatchObject({ error: { code: "payload_too_large" } });
    s.ws?.close(1000);
  });

  it("charges oversized frames to the rate limit, so a stream of them ends in 1008", async () => {
    const a = await registerUser();
    const s = await connect(a.accessToken);
    await s.until((f) => f.type === "connected");
    const huge = { type: "chat", content: "x".repeat(64 * 1024 + 1) };
    for (let i = 0; i < 100; i++) s.send(huge);
    expect(await s.closeCode()).toBe(1008);
    const codes = s.frames
      .filter((f) => f.type === "error")
      .map((f) => (f.data as { error: { code: string } }).error.code);
    expect(codes[0]).toBe("payload_too_large");
    expect(codes).toContain("rate_limited");
  });

  it("gives admins broadcast, stats, rooms and clients, and refuses others with 403", async () => {
    const admin = await createAdmin();
    const user = await registerUser();
    const s = await connect(user.accessToken);
    await s.until((f) => f.type === "connected");
    const res = await api("POST", "/ws/broadcast", {
      token: admin.accessToken,
      body: { type: "notification", content: "maintenance", user_id: user.user.id },
    });
    expect(await json(res)).toEqual({ status: "broadcast", sent_to: 1, success: true });
    expect(await s.until((f) => f.type === "notification")).toMatchObject({ content: "maintenance" });
    const stats = await json<{ connections: number; clients: { user_id: string }[] }>(
      await api("GET", "/ws/stats", { token: admin.accessToken }),
    );
    expect(stats.clients.filter((c) => c.user_id === user.user.id)).toHaveLength(1);
    expect(stats.connections).toBe(stats.clients.length);
    const rooms = await json<{ rooms: Record<string, number>; total: number }>(
      await api("GET", "/ws/rooms", { token: admin.accessToken }),
    );
    expect(rooms.rooms.general).toBeGreaterThanOrEqual(1);
    expect(rooms.total).toBe(Object.keys(rooms.rooms).length);
    const clients = await json<{ clients: { user_id: string; rooms: string[] }[]; total: number }>(
      await api("GET", "/ws/clients", { token: admin.accessToken }),
    );
    expect(clients.clients.find((c) => c.user_id === user.user.id)?.rooms).toEqual(["general"]);
    expect(clients.total).toBe(clients.clients.length);
    for (const path of ["/ws/stats", "/ws/rooms", "/ws/clients"]) {
      expect((await api("GET", path, { token: user.accessToken })).status).toBe(403);
    }
    const health = await api("GET", "/ws/health");
    expect(health.status).toBe(200);
    const h = await json<{ status: string; service: string; timestamp: number }>(health);
    expect(h).toEqual({ status: "healthy", service: "websocket-hub", timestamp: expect.any(Number) });
    expect(Number.isInteger(h.timestamp)).toBe(true);
    expect(Math.abs(h.timestamp - Date.now() / 1000)).toBeLessThan(3600);
    s.ws?.close(1000);
  });
});

// go-services/websocket-hub/main.go at its own base path (docs/legacy.md "Which generation answers where"), replayed
// frame by frame and route by route; it shares the object, the rooms and the users with /ws.
describe("/websocket-hub", () => {
  const HUB = "/websocket-hub/ws";

  it("refuses a socket without a token with 401, whatever user_id or X-User-ID say", async () => {
    expect((await connect(undefined, HUB)).res.status).toBe(401);
    const res = await send("GET", `${HUB}?user_id=u1`, { headers: { Upgrade: "websocket", "X-User-ID": "u1" } });
    expect(res.status).toBe(401);
  });

  it("sends websocket-hub's welcome, join notice and presence, and its join/leave notices to the room", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const sa = await connect(a.accessToken, HUB);
    expect(sa.res.status).toBe(101);
    // handleRegister: a status frame without user_id, then "User … joined the room" in general, then presence to all.
    const welcome = await sa.until((f) => f.type === "status" && f.content === "Welcome to the WebSocket hub");
    expect(welcome).toMatchObject({ user_id: "", data: { client_id: expect.any(String), rooms: ["general"] } });
    expect(welcome.room).toBeUndefined();
    await sa.until(
      (f) => f.type === "status" && f.room === "general" && f.content === `User ${a.user.id} joined the room`,
    );
    const self = await sa.until((f) => f.type === "presence" && f.user_id === a.user.id);
    expect(self).toMatchObject({ content: "connected", data: { state: "connected", timestamp: expect.any(Number) } });
    expect(Object.keys(self.data as object).sort()).toEqual(["state", "timestamp"]);

    // A simple-hub socket sees b's presence in its own shape, a websocket-hub socket in websocket-hub's.
    const simple = await connect(b.accessToken);
    await simple.until((f) => f.type === "connected");
    const bOnline = await sa.until((f) => f.type === "presence" && f.user_id === b.user.id);
    expect(bOnline).toMatchObject({ content: "connected", data: { state: "connected" } });
    const sb = await connect(b.accessToken, HUB);
    const aSeen = await simple.until((f) => f.type === "presence" && f.user_id === b.user.id && f.content === "online");
    expect(aSeen.data).toMatchObject({ status: "online", state: "connected" });

    // join/leave with data.room: websocket-hub told the room's members, the joiner included, the leaver not.
    sa.send({ type: "join", data: { room: "side" } });
    await sa.until(
      (f) => f.type === "status" && f.room === "side" && f.content === `User ${a.user.id} joined the room`,
    );
    sb.send({ type: "join", data: { room: "side" } });
    await sa.until(
      (f) => f.type === "status" && f.room === "side" && f.content === `User ${b.user.id} joined the room`,
    );
    sa.send({ type: "chat", room: "side", content: "hi side" });
    expect(await sb.until((f) => f.type === "chat" && f.content === "hi side")).toMatchObject({
      user_id: a.user.id,
      room: "side",
    });
    sa.send({ type: "leave", data: { room: "side" } });
    await sb.until((f) => f.type === "status" && f.room === "side" && f.content === `User ${a.user.id} left the room`);
    expect(sa.frames.some((f) => f.content === `User ${a.user.id} left the room`)).toBe(false);

    // The disconnect: presence in each socket's shape.
    sb.ws?.close(1000);
    simple.ws?.close(1000);
    const off = await sa.until((f) => f.type === "presence" && f.user_id === b.user.id && f.content === "disconnected");
    expect(off.data).toEqual({ state: "disconnected", timestamp: expect.any(Number) });
    sa.ws?.close(1000);
  });

  it("answers /rooms, /clients, /broadcast in websocket-hub's shapes, to admins only, and /health to anyone", async () => {
    const admin = await createAdmin();
    const user = await registerUser();
    const s = await connect(user.accessToken, HUB);
    await s.until((f) => f.type === "status" && f.content === "Welcome to the WebSocket hub");
    s.send({ type: "join", data: { room: "ops" } });
    await s.until((f) => f.type === "status" && f.room === "ops");

    // getRoomsHandler: {rooms: [{id, name, private, client_count, max_clients, created_at}], total}
    const rooms = await json<{ rooms: Record<string, unknown>[]; total: number }>(
      await api("GET", "/websocket-hub/rooms", { token: admin.accessToken }),
    );
    expect(rooms.total).toBe(rooms.rooms.length);
    const ops = rooms.rooms.find((r) => r.id === "ops");
    expect(ops).toEqual({
      id: "ops",
      name: "ops",
      private: false,
      client_count: 1,
      max_clients: 0,
      created_at: expect.any(String),
    });
    expect(rooms.rooms.some((r) => r.id === "general")).toBe(true);

    // getClientsHandler: {clients: [{id, user_id, state, rooms: {room: true}, last_ping}], total}
    const clients = await json<{ clients: Record<string, unknown>[]; total: number }>(
      await api("GET", "/websocket-hub/clients", { token: admin.accessToken }),
    );
    expect(clients.total).toBe(clients.clients.length);
    expect(clients.clients.find((c) => c.user_id === user.user.id)).toEqual({
      id: expect.any(String),
      user_id: user.user.id,
      state: "connected",
      rooms: { general: true, ops: true },
      last_ping: expect.any(String),
    });

    // broadcastHandler: a Message body → a broadcast frame to every socket, {success: true}; its user_id is not
    // taken (the sender would speak as that user).
    const sent = await api("POST", "/websocket-hub/broadcast", {
      token: admin.accessToken,
      body: { id: "", type: "chat", user_id: user.user.id, content: "restart at noon", data: { at: "12:00" } },
    });
    expect(sent.status).toBe(200);
    expect(await json(sent)).toEqual({ success: true });
    const frame = await s.until((f) => f.type === "broadcast" && f.content === "restart at noon");
    expect(frame).toMatchObject({ user_id: "system", data: { at: "12:00" } });

    for (const [method, path] of [
      ["GET", "/websocket-hub/rooms"],
      ["GET", "/websocket-hub/clients"],
      ["POST", "/websocket-hub/broadcast"],
    ] as const) {
      const res = await api(method, path, {
        token: user.accessToken,
        body: method === "POST" ? { content: "x" } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
    }

    // healthHandler: {status, service, clients, rooms, redis, timestamp}
    const health = await json<Record<string, unknown>>(await api("GET", "/websocket-hub/health"));
    expect(health).toEqual({
      status: "healthy",
      service: "websocket-hub",
      clients: expect.any(Number),
      rooms: expect.any(Number),
      redis: false,
      timestamp: expect.any(Number),
    });
    expect(health.clients).toBeGreaterThanOrEqual(1);
    s.ws?.close(1000);
  });
});
