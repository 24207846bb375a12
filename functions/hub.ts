// /v1/hub: WebSocket rooms (authenticated before the upgrade, then handed to the room's object), room
// stats, server events from admins, single-use tickets for browsers, and members of members-only rooms.
import type { Context } from "hono";
import { z } from "zod";
import { authorize, principal } from "../src/lib/auth";
import type { AppEnv } from "../src/lib/env";
import { ApiError } from "../src/lib/errors";
import { mayEnter, publishToRoom, roomKind, roomStub } from "../src/lib/hub";
import { forwardUpgrade, isWebSocketUpgrade, socketIdentity } from "../src/lib/hub-connect";
import { HUB_TICKET_TTL_SECONDS, issueHubTicket } from "../src/lib/hub-tickets";
import { HubEvent, HubRoomStats, RoomName } from "../src/lib/protocol";
import { ApiRouter } from "../src/lib/router";

const RoomParams = z.object({ room: RoomName });
const MemberParams = z.object({ room: RoomName, userId: z.string().min(1).max(128) });
const ConnectQuery = z.object({
  ticket: z.string().min(1).max(256).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
});

async function ensureEntry(c: Context<AppEnv>, room: string, who: { sub: string; roles: string[] }): Promise<void> {
  if (!(await mayEnter(c.env, room, who))) throw new ApiError("forbidden", `You may not enter ${room}`);
}

function membersOnly(room: string): void {
  if (roomKind(room) !== "members") {
    throw new ApiError("invalid_request", "public: and user: rooms have no member list");
  }
}

export const hubService = new ApiRouter("hub")
  .route(
    {
      method: "post",
      path: "/tickets",
      auth: "user",
      summary: "A single-use ticket for one WebSocket connect, valid for 60 seconds (for browsers)",
      responses: {
        201: {
          description: "Put it in the upgrade URL as ?ticket=",
          schema: z.object({ ticket: z.string(), expiresIn: z.number() }),
        },
      },
    },
    async (c) => {
      const p = principal(c);
      const ticket = await issueHubTicket(c.env, { sub: p.sub, username: p.username, roles: p.roles });
      return c.json({ ticket, expiresIn: HUB_TICKET_TTL_SECONDS }, 201);
    },
  )
  .route(
    {
      method: "get",
      path: "/rooms/:room",
      // Checked in the handler: an upgrade may prove itself with a subprotocol or a ticket, not only a header.
      auth: "public",
      summary: "Join a room over WebSocket (with Upgrade: websocket), or read its stats",
      description:
        "With `Upgrade: websocket`: authenticate with `Sec-WebSocket-Protocol: bearer.<token>` or `?ticket=`, " +
        "optionally `?since=<seq>` to replay missed messages. Without it: `{room, online, lastSeq}` for a signed-in " +
        "user who may enter the room. Frames and limits: docs/hub.md.",
      params: RoomParams,
      query: ConnectQuery,
      responses: {
        101: { description: "Switching to the WebSocket protocol" },
        200: { description: "Room stats", schema: HubRoomStats },
      },
    },
    async (c, { params, query }) => {
      const { room } = params;
      if (!isWebSocketUpgrade(c)) {
        await authorize(c, "user");
        await ensureEntry(c, room, principal(c));
        return c.json(await roomStub(c.env, room).stats(room));
      }
      const { holder, protocol } = await socketIdentity(c, query.ticket);
      await ensureEntry(c, room, holder);
      return forwardUpgrade(c, roomStub(c.env, room), {
        room,
        user: { id: holder.sub, username: holder.username },
        requestId: c.get("requestId"),
        protocol,
        since: query.since,
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/rooms/:room/messages",
      auth: { role: "admin" },
      summary: "Publish a server event to a room (kept in its history with a sequence number)",
      params: RoomParams,
      body: HubEvent,
      responses: {
        202: { description: "Delivered to everyone online", schema: z.object({ room: RoomName, seq: z.number() }) },
      },
    },
    async (c, { params, body }) => {
      const { seq } = await publishToRoom(c.env, params.room, body);
      return c.json({ room: params.room, seq }, 202);
    },
  )
  .route(
    {
      method: "get",
      path: "/rooms/:room/members",
      auth: { role: "admin" },
      summary: "The member list of a members-only room",
      params: RoomParams,
      responses: { 200: { description: "User ids", schema: z.object({ members: z.array(z.string()) }) } },
    },
    async (c, { params }) => {
      membersOnly(params.room);
      return c.json({ members: await roomStub(c.env, params.room).members() });
    },
  )
  .route(
    {
      method: "put",
      path: "/rooms/:room/members/:userId",
      auth: { role: "admin" },
      summary: "Add a member to a members-only room",
      params: MemberParams,
      responses: { 204: { description: "Added (or already a member)" } },
    },
    async (c, { params }) => {
      membersOnly(params.room);
      await roomStub(c.env, params.room).addMember(params.userId);
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "delete",
      path: "/rooms/:room/members/:userId",
      auth: { role: "admin" },
      summary: "Remove a member from a members-only room; their open sockets there are closed",
      params: MemberParams,
      responses: { 204: { description: "Removed" }, 404: { description: "Not a member" } },
    },
    async (c, { params }) => {
      membersOnly(params.room);
      if (!(await roomStub(c.env, params.room).removeMember(params.userId))) {
        throw new ApiError("not_found", `${params.userId} is not a member of ${params.room}`);
      }
      return c.body(null, 204);
    },
  );
