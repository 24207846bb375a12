// /ws: the old WebSocket hub's routes and frames (docs/hub.md) over one LegacyHub object. Unlike the old
// service, a socket must prove who it is (as on /v1/hub; `?user_id=` is ignored) and the HTTP routes are
// for admins only.
import type { Context } from "hono";
import { z } from "zod";
import type { LegacyClient } from "../../durable-objects/legacy-hub";
import { forwardUpgrade, HUB_SOCKET, hubSocket, isWebSocketUpgrade } from "../../src/lib/hub/connect";
import { legacyHubStub as legacyHub } from "../../src/lib/hub/connections";
import type { AppEnv } from "../../src/lib/platform/env";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";

const Client = z.object({ id: z.string(), user_id: z.string(), rooms: z.array(z.string()) });

/** The old hub's socket: both generations' routes forward here (the object tells them apart by the path). */
async function openLegacySocket(c: Context<AppEnv>): Promise<Response> {
  if (!isWebSocketUpgrade(c)) throw new ApiError("invalid_request", "This route takes a WebSocket upgrade only");
  const { holder, protocol } = hubSocket(c);
  return forwardUpgrade(c, legacyHub(c.env), {
    room: "general",
    user: { id: holder.sub, username: holder.username },
    requestId: c.get("requestId"),
    protocol,
  });
}

const SocketQuery = z.object({ ticket: z.string().min(1).max(256).optional(), user_id: z.string().optional() });

export const legacyHubService = new ApiRouter("legacy hub")
  .route(
    {
      method: "get",
      path: "/",
      auth: HUB_SOCKET,
      summary: "Legacy: the old hub's WebSocket (authenticated; `?user_id=` is ignored)",
      description: "Frames `{id, type, user_id, room?, content?, data?, timestamp}`; see docs/hub.md.",
      query: SocketQuery,
      responses: { 101: { description: "Switching to the WebSocket protocol" } },
    },
    (c) => openLegacySocket(c),
  )
  .route(
    {
      method: "post",
      path: "/broadcast",
      auth: { role: "admin" },
      summary: 'Legacy: send a frame to every socket, or one user\'s → {status:"broadcast", sent_to, success: true}',
      description: "Both old hubs' answers in one: the simple hub's `status` and `sent_to`, websocket-hub's `success`.",
      body: z.object({
        type: z.enum(["notification", "broadcast", "status"]).default("broadcast"),
        content: z.string().max(65_536),
        user_id: z.string().max(128).optional(),
      }),
      responses: {
        200: {
          description: "Sent",
          schema: z.object({ status: z.literal("broadcast"), sent_to: z.number(), success: z.literal(true) }),
        },
      },
    },
    async (c, { body }) => {
      const sentTo = await legacyHub(c.env).broadcast(body.type, body.content, body.user_id);
      return c.json({ status: "broadcast" as const, sent_to: sentTo, success: true as const });
    },
  )
  .route(
    {
      method: "get",
      path: "/stats",
      auth: { role: "admin" },
      summary: "Legacy: {connections, clients:[{id, user_id}]}",
      responses: {
        200: {
          description: "Open sockets",
          schema: z.object({ connections: z.number(), clients: z.array(Client.omit({ rooms: true })) }),
        },
      },
    },
    async (c) => {
      const clients = await legacyHub(c.env).clients();
      return c.json({ connections: clients.length, clients: clients.map(({ id, user_id }) => ({ id, user_id })) });
    },
  )
  .route(
    {
      method: "get",
      path: "/rooms",
      auth: { role: "admin" },
      summary:
        "Legacy: each room with its number of sockets (`general` always), and how many (websocket-hub's `total`)",
      responses: {
        200: {
          description: "Rooms",
          schema: z.object({ rooms: z.record(z.string(), z.number()), total: z.number() }),
        },
      },
    },
    async (c) => {
      const rooms = Object.fromEntries(
        [...roomsOf(await legacyHub(c.env).clients())].map(([name, members]) => [name, members.length]),
      );
      return c.json({ rooms, total: Object.keys(rooms).length });
    },
  )
  .route(
    {
      method: "get",
      path: "/clients",
      auth: { role: "admin" },
      summary: "Legacy: every socket with its user and rooms, and how many (websocket-hub's `total`)",
      responses: {
        200: { description: "Sockets", schema: z.object({ clients: z.array(Client), total: z.number() }) },
      },
    },
    async (c) => {
      const clients = (await legacyHub(c.env).clients()).map(({ id, user_id, rooms }) => ({ id, user_id, rooms }));
      return c.json({ clients, total: clients.length });
    },
  )
  .route(
    {
      method: "get",
      path: "/health",
      auth: "public",
      rateLimit: false,
      summary: "Legacy: the hub answers, named as websocket-hub named itself, with a unix timestamp",
      description:
        "websocket-hub's socket and room counts are not public here: `/ws/clients` and `/ws/rooms` (admin) have them.",
      responses: {
        200: {
          description: "Healthy",
          schema: z.object({
            status: z.literal("healthy"),
            service: z.literal("websocket-hub"),
            timestamp: z.number().describe("Unix seconds"),
          }),
        },
      },
    },
    (c) =>
      c.json({
        status: "healthy" as const,
        service: "websocket-hub" as const,
        timestamp: Math.floor(Date.now() / 1000),
      }),
  );

/** The rooms the clients are in, with `general` always there (both old hubs made it at start). */
function roomsOf(clients: LegacyClient[]): Map<string, LegacyClient[]> {
  const rooms = new Map<string, LegacyClient[]>([["general", []]]);
  for (const client of clients) {
    for (const room of client.rooms) rooms.set(room, [...(rooms.get(room) ?? []), client]);
  }
  return rooms;
}

const unix = (ms: number) => Math.floor(ms / 1000);

/**
 * go-services/websocket-hub at its own base path, /websocket-hub (docs/legacy.md "Which generation answers where"):
 * `/ws`, `/rooms`, `/clients`, `/broadcast`, `/health` in its shapes. Same object and rooms as /ws; the same refusals
 * (an authenticated socket, admin-only HTTP routes).
 */
export const websocketHubService = new ApiRouter("legacy websocket-hub")
  .route(
    {
      method: "get",
      path: "/ws",
      auth: HUB_SOCKET,
      summary: "Legacy (websocket-hub): the WebSocket, with its frames (authenticated; `?user_id=` is ignored)",
      description:
        'A `status` welcome ("Welcome to the WebSocket hub", `data: {client_id, rooms}`), room notices ' +
        '("User … joined the room"), presence with `content` and `data.state` connected/disconnected.',
      query: SocketQuery,
      responses: { 101: { description: "Switching to the WebSocket protocol" } },
    },
    (c) => openLegacySocket(c),
  )
  .route(
    {
      method: "get",
      path: "/rooms",
      auth: { role: "admin" },
      summary: "Legacy (websocket-hub): {rooms: [{id, name, private, client_count, max_clients, created_at}], total}",
      description:
        "Rooms live while a socket is in them (`general` always); `created_at` is when the earliest socket now in " +
        "the room connected (now for an empty `general`). No room is private or capped: `private` false, `max_clients` 0.",
      responses: {
        200: {
          description: "Rooms",
          schema: z.object({
            rooms: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                private: z.literal(false),
                client_count: z.number(),
                max_clients: z.literal(0),
                created_at: z.string(),
              }),
            ),
            total: z.number(),
          }),
        },
      },
    },
    async (c) => {
      const rooms = [...roomsOf(await legacyHub(c.env).clients())].map(([name, members]) => ({
        id: name,
        name,
        private: false as const,
        client_count: members.length,
        max_clients: 0 as const,
        created_at: new Date(Math.min(Date.now(), ...members.map((m) => m.connected_at ?? Date.now()))).toISOString(),
      }));
      return c.json({ rooms, total: rooms.length });
    },
  )
  .route(
    {
      method: "get",
      path: "/clients",
      auth: { role: "admin" },
      summary: "Legacy (websocket-hub): {clients: [{id, user_id, state, rooms: {name: true}, last_ping}], total}",
      description: "`last_ping` is when the socket connected: pings are answered without waking the hub.",
      responses: {
        200: {
          description: "Sockets",
          schema: z.object({
            clients: z.array(
              z.object({
                id: z.string(),
                user_id: z.string(),
                state: z.literal("connected"),
                rooms: z.record(z.string(), z.literal(true)),
                last_ping: z.string().nullable(),
              }),
            ),
            total: z.number(),
          }),
        },
      },
    },
    async (c) => {
      const clients = (await legacyHub(c.env).clients()).map((client) => ({
        id: client.id,
        user_id: client.user_id,
        state: "connected" as const,
        rooms: Object.fromEntries(client.rooms.map((room) => [room, true as const])),
        last_ping: client.connected_at === null ? null : new Date(client.connected_at).toISOString(),
      }));
      return c.json({ clients, total: clients.length });
    },
  )
  .route(
    {
      method: "post",
      path: "/broadcast",
      auth: { role: "admin" },
      summary: "Legacy (websocket-hub): a `broadcast` frame to every socket → {success: true}",
      description:
        "websocket-hub's Message body; `type` becomes `broadcast` as there, and the frame's `user_id` is `system` " +
        "(a body's `user_id` or `id` would let the sender speak as someone else).",
      body: z
        .object({
          content: z.string().max(65_536).default(""),
          data: z.record(z.string(), z.unknown()).nullish(),
        })
        .strip(),
      responses: { 200: { description: "Sent", schema: z.object({ success: z.literal(true) }) } },
    },
    async (c, { body }) => {
      await legacyHub(c.env).broadcast("broadcast", body.content, undefined, body.data ?? undefined);
      return c.json({ success: true as const });
    },
  )
  .route(
    {
      method: "get",
      path: "/health",
      auth: "public",
      rateLimit: false,
      summary: "Legacy (websocket-hub): {status, service, clients, rooms, redis, timestamp}",
      description:
        "`clients` and `rooms` are counts; `redis` is false (one Durable Object is the whole hub, so there is no " +
        "cross-instance fan-out to report).",
      responses: {
        200: {
          description: "Healthy",
          schema: z.object({
            status: z.literal("healthy"),
            service: z.literal("websocket-hub"),
            clients: z.number(),
            rooms: z.number(),
            redis: z.literal(false),
            timestamp: z.number().describe("Unix seconds"),
          }),
        },
      },
    },
    async (c) => {
      const clients = await legacyHub(c.env).clients();
      return c.json({
        status: "healthy" as const,
        service: "websocket-hub" as const,
        clients: clients.length,
        rooms: roomsOf(clients).size,
        redis: false as const,
        timestamp: unix(Date.now()),
      });
    },
  );
