// /v1/hub: WebSocket rooms (authenticated before the upgrade, then handed to the room's object), room
// stats, server events from admins and services, single-use tickets for browsers, and members-only rooms
// that their owners (or admins) manage.
import type { Context } from "hono";
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { forwardUpgrade, HUB_SOCKET, hubSocket, isWebSocketUpgrade } from "../src/lib/hub/connect";
import { HubEvent, HubRoomInfo, HubRoomStats, RoomName } from "../src/lib/hub/frames";
import { mayEnter, publishToRoom, type RoomRole, roomKind, roomRole, roomStub } from "../src/lib/hub/rooms";
import { HUB_TICKET_TTL_SECONDS, issueHubTicket } from "../src/lib/hub/tickets";
import { principal } from "../src/lib/identity/auth";
import { requireUserById } from "../src/lib/identity/users";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

const RoomParams = z.object({ room: RoomName });
const MemberParams = z.object({ room: RoomName, userId: z.uuid() });
const SESSION = "session" as const;
const ConnectQuery = z.object({
  ticket: z.string().min(1).max(256).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
});

async function ensureEntry(c: Context<AppEnv>, room: string, who: { sub: string; roles: string[] }): Promise<void> {
  if (!(await mayEnter(c.env, room, who))) throw new ApiError("forbidden", `You may not enter ${room}`);
}

function membersOnly(room: string): void {
  if (roomKind(room) !== "members") {
    throw new ApiError("invalid_request", "public: and user: rooms have no owner or member list");
  }
}

/**
 * The room and the caller's part in it, for the management routes. A stranger (or anyone, for a room that
 * does not exist) gets 404, so the routes do not tell outsiders which rooms exist; a member who is not the
 * owner gets 403 where `need` is "manage".
 */
async function managed(
  c: Context<AppEnv>,
  room: string,
  need: "read" | "manage",
): Promise<{ info: HubRoomInfo; role: RoomRole }> {
  membersOnly(room);
  const info = await roomStub(c.env, room).info();
  const role = roomRole(info, principal(c));
  if (!info || role === "stranger") throw new ApiError("not_found", `No room ${room}`);
  if (need === "manage" && role === "member") {
    throw new ApiError("forbidden", `Only the owner of ${room} or an admin may manage it`);
  }
  return { info, role };
}

const RoomInfoResponse = { description: "The room", schema: HubRoomInfo };

export const hubService = new ApiRouter("hub")
  .route(
    {
      method: "post",
      path: "/tickets",
      // The live session and current roles, as every hub call: a demoted or deactivated user gets no ticket.
      auth: "session",
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
      const ticket = await issueHubTicket(c.env, { sub: p.sub, sid: p.sid, username: p.username, roles: p.roles });
      return c.json({ ticket, expiresIn: HUB_TICKET_TTL_SECONDS }, 201);
    },
  )
  .route(
    {
      method: "get",
      path: "/rooms/:room",
      auth: HUB_SOCKET,
      summary: "Join a room over WebSocket (with Upgrade: websocket), or read its stats",
      description:
        "With `Upgrade: websocket`: join, optionally with `?since=<seq>` to replay missed messages. Without it: " +
        "`{room, online, lastSeq}` for a signed-in user who may enter the room. Frames and limits: docs/hub.md.",
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
        await ensureEntry(c, room, principal(c));
        return c.json(await roomStub(c.env, room).stats());
      }
      const { holder, protocol } = hubSocket(c);
      await ensureEntry(c, room, holder);
      return forwardUpgrade(c, roomStub(c.env, room), {
        room,
        user: { id: holder.sub, username: holder.username },
        requestId: c.get("requestId"),
        protocol,
        since: query.since,
        asMember: roomKind(room) === "members" && !holder.roles.includes("admin"),
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/rooms/:room/messages",
      auth: { scope: "hub.publish", orRole: "admin" },
      summary: "Publish a server event to a room (kept in its history with a sequence number)",
      description:
        "For services: `Authorization: Bearer tsc_…`, a service credential with the `hub.publish` scope " +
        "(POST /v1/admin/service-credentials). A members-only room must have been created first (404 otherwise); " +
        "`public:*` and `user:<id>` rooms always exist.",
      params: RoomParams,
      body: HubEvent,
      responses: {
        202: { description: "Delivered to everyone online", schema: z.object({ room: RoomName, seq: z.number() }) },
        404: { description: "A members-only room that nobody created (or that was deleted)" },
      },
    },
    async (c, { params, body }) => {
      const { seq } = await publishToRoom(c.env, params.room, body);
      return c.json({ room: params.room, seq }, 202);
    },
  )
  .route(
    {
      method: "post",
      path: "/rooms",
      auth: SESSION,
      summary: "Create a members-only room; the caller becomes its owner and first member",
      body: z.object({ room: RoomName }).strict(),
      responses: { 201: RoomInfoResponse, 409: { description: "A room of that name exists" } },
    },
    async (c, { body }) => {
      membersOnly(body.room);
      return c.json(unwrap(await roomStub(c.env, body.room).create(principal(c).sub)), 201);
    },
  )
  .route(
    {
      method: "delete",
      path: "/rooms/:room",
      auth: SESSION,
      summary: "Delete a members-only room (owner or admin): members and history go, every socket is closed (1008)",
      params: RoomParams,
      responses: { 204: { description: "Deleted" }, 404: { description: "No such room (or not yours to see)" } },
    },
    async (c, { params }) => {
      await managed(c, params.room, "manage");
      unwrap(await roomStub(c.env, params.room).destroy());
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "put",
      path: "/rooms/:room/owner",
      auth: SESSION,
      summary: "Hand a members-only room to another user (owner or admin); the old owner stays a member",
      params: RoomParams,
      body: z.object({ userId: z.uuid() }).strict(),
      responses: { 200: RoomInfoResponse, 404: { description: "No such room, or no such user" } },
    },
    async (c, { params, body }) => {
      await managed(c, params.room, "manage");
      await requireUserById(db(c.env), body.userId);
      return c.json(unwrap(await roomStub(c.env, params.room).transfer(body.userId)));
    },
  )
  .route(
    {
      method: "get",
      path: "/rooms/:room/members",
      auth: SESSION,
      summary: "A members-only room's owner and members (for its members and admins)",
      params: RoomParams,
      responses: { 200: RoomInfoResponse, 404: { description: "No such room (or not yours to see)" } },
    },
    async (c, { params }) => c.json((await managed(c, params.room, "read")).info),
  )
  .route(
    {
      method: "put",
      path: "/rooms/:room/members/:userId",
      auth: SESSION,
      summary: "Add a member to a members-only room (owner or admin)",
      params: MemberParams,
      responses: {
        204: { description: "Added (or already a member)" },
        404: { description: "No such room, or no such user" },
        409: { description: "The member list is full" },
      },
    },
    async (c, { params }) => {
      await managed(c, params.room, "manage");
      await requireUserById(db(c.env), params.userId);
      unwrap(await roomStub(c.env, params.room).addMember(params.userId));
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "delete",
      path: "/rooms/:room/members/:userId",
      auth: SESSION,
      summary: "Remove a member (owner or admin; a member may remove themselves); their sockets there close (1008)",
      params: MemberParams,
      responses: {
        204: { description: "Removed" },
        404: { description: "No such room, or not a member" },
        409: { description: "The owner cannot be removed: hand the room on or delete it" },
      },
    },
    async (c, { params }) => {
      const leaving = params.userId === principal(c).sub;
      await managed(c, params.room, leaving ? "read" : "manage");
      unwrap(await roomStub(c.env, params.room).removeMember(params.userId));
      return c.body(null, 204);
    },
  );
