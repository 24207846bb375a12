// /ws: the old WebSocket hub's routes and frames (docs/hub.md) over one LegacyHub object. Unlike the old
// service, a socket must prove who it is (as on /v1/hub; `?user_id=` is ignored) and the HTTP routes are
// for admins only.
import { z } from "zod";
import { forwardUpgrade, HUB_SOCKET, hubSocket, isWebSocketUpgrade } from "../../src/lib/hub/connect";
import { legacyHubStub as legacyHub } from "../../src/lib/hub/connections";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";

const Client = z.object({ id: z.string(), user_id: z.string(), rooms: z.array(z.string()) });

export const legacyHubService = new ApiRouter("legacy hub")
  .route(
    {
      method: "get",
      path: "/",
      auth: HUB_SOCKET,
      summary: "Legacy: the old hub's WebSocket (authenticated; `?user_id=` is ignored)",
      description: "Frames `{id, type, user_id, room?, content?, data?, timestamp}`; see docs/hub.md.",
      query: z.object({ ticket: z.string().min(1).max(256).optional(), user_id: z.string().optional() }),
      responses: { 101: { description: "Switching to the WebSocket protocol" } },
    },
    async (c) => {
      if (!isWebSocketUpgrade(c)) throw new ApiError("invalid_request", "/ws takes a WebSocket upgrade only");
      const { holder, protocol } = hubSocket(c);
      return forwardUpgrade(c, legacyHub(c.env), {
        room: "general",
        user: { id: holder.sub, username: holder.username },
        requestId: c.get("requestId"),
        protocol,
      });
    },
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
      summary: "Legacy: each room with its number of sockets, and how many rooms (websocket-hub's `total`)",
      responses: {
        200: {
          description: "Rooms",
          schema: z.object({ rooms: z.record(z.string(), z.number()), total: z.number() }),
        },
      },
    },
    async (c) => {
      const rooms: Record<string, number> = {};
      for (const client of await legacyHub(c.env).clients()) {
        for (const room of client.rooms) rooms[room] = (rooms[room] ?? 0) + 1;
      }
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
      const clients = await legacyHub(c.env).clients();
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
