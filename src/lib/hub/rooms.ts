// The hub as other code sees it: who may open which room, the connect request the Worker hands a room
// object, and publishing to rooms (or a user's own channel) over the object's RPC.
import { z } from "zod";
import type { Env } from "../platform/env";
import { unwrap } from "../platform/refusal";
import { type HubEvent, type HubRoomInfo, HubSender, RoomName } from "./frames";

export const HUB_PROTOCOL_PREFIX = "bearer.";
/**
 * The subprotocol a 101 names when the client authenticated with `bearer.<token>` and offered nothing else: never
 * the bearer protocol itself, which would put the token in a response header that proxies and logs keep
 * (docs/hub.md "Connecting"). Clients offer it beside the token: `["tessera.hub.v1", "bearer.<token>"]`.
 */
export const HUB_PROTOCOL = "tessera.hub.v1";

/**
 * `data.kind` of the event sent before a `since` replay when messages after `since` are no longer kept:
 * `{type:"event", room, data:{kind:"history.truncated", since, oldestSeq, lastSeq}, ts}` (no seq: not kept).
 */
export const HUB_HISTORY_TRUNCATED = "history.truncated";

/** The room object for a room name: one object per room, found by name. */
export function roomStub(env: Env, room: string) {
  // By name, so the object knows its own name (ctx.id.name) without storing it.
  return env.HUB.getByName(room);
}

/** A user's private event channel (job progress, notifications). */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

type RoomKind = "public" | "user" | "members";

export function roomKind(room: string): RoomKind {
  if (room.startsWith("public:")) return "public";
  if (room.startsWith("user:")) return "user";
  return "members";
}

/**
 * Who may open or read a room: `public:*` any signed-in user, `user:<id>` that user only, any other room
 * its members (kept by the room object, the owner among them) — admins may open every members-only room.
 */
export async function mayEnter(env: Env, room: string, user: { sub: string; roles: string[] }): Promise<boolean> {
  const kind = roomKind(room);
  if (kind === "public") return true;
  if (kind === "user") return room === userRoom(user.sub);
  if (user.roles.includes("admin")) return true;
  return roomStub(env, room).isMember(user.sub);
}

/** What a caller is to a members-only room; "stranger" for a room that does not exist as well. */
export type RoomRole = "admin" | "owner" | "member" | "stranger";

export function roomRole(info: HubRoomInfo | null, user: { sub: string; roles: string[] }): RoomRole {
  if (!info) return "stranger";
  if (user.roles.includes("admin")) return "admin";
  if (info.owner === user.sub) return "owner";
  return info.members.includes(user.sub) ? "member" : "stranger";
}

/** What the Worker tells a room object about a socket it has already authenticated and authorised. */
export const HubConnect = z.object({
  room: RoomName,
  user: HubSender,
  requestId: z.string(),
  /** The subprotocol the server accepts (echoed in the 101), if the client offered any. */
  protocol: z.string().optional(),
  /** Replay the room's kept messages with a seq greater than this before any new one. */
  since: z.number().int().nonnegative().optional(),
  /**
   * The Worker let the user in as a member: the room checks again just before accepting, since a removal may
   * have landed in between (admins and public/user rooms need no such check).
   */
  asMember: z.boolean().optional(),
});
export type HubConnect = z.infer<typeof HubConnect>;

/** The header that carries HubConnect from the Worker to the room object (never from a client: only the Worker can reach the object). */
export const HUB_CONNECT_HEADER = "x-tessera-hub-connect";

/** The connect request as a room object reads it; a failure means the caller was not the Worker. */
export function readConnect(request: Request): ReturnType<typeof HubConnect.safeParse> {
  const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
  let raw: unknown = null;
  try {
    raw = JSON.parse(request.headers.get(HUB_CONNECT_HEADER) ?? "null");
  } catch {
    // left null: fails the parse below
  }
  return HubConnect.safeParse(upgrade ? raw : null);
}

const encoder = new TextEncoder();

/** Whether a WebSocket message is at most `limit` bytes, without encoding a string whose length already decides it. */
export function withinBytes(message: string | ArrayBuffer, limit: number): boolean {
  if (typeof message !== "string") return message.byteLength <= limit;
  // Each UTF-16 code unit is 1 to 3 UTF-8 bytes.
  if (message.length > limit) return false;
  if (message.length * 3 <= limit) return true;
  return encoder.encode(message).byteLength <= limit;
}

/**
 * Publishes a server event to a room; resolves to its sequence number in the room's history. A members-only
 * room must exist: otherwise this throws `not_found` (`public:*` and `user:<id>` rooms always exist).
 */
export async function publishToRoom(env: Env, room: string, event: HubEvent): Promise<{ seq: number }> {
  return unwrap(await roomStub(env, room).publish(event));
}

/** Publishes a server event to a user's own channel, `user:<id>` (which always exists). */
export function publishToUser(env: Env, userId: string, event: HubEvent): Promise<{ seq: number }> {
  return publishToRoom(env, userRoom(userId), event);
}
