// The hub's frames and records as zod schemas: what crosses the socket and the rooms' RPC (docs/hub.md).
import { z } from "zod";

// ---- The WebSocket hub (docs/hub.md) ----

/** A room name: `public:<name>`, `user:<id>`, or a members-only room. */
export const RoomName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits and . _ : - only");

/** Who sent a frame; set by the hub from the verified identity, never by the client. */
export const HubSender = z.object({ id: z.string(), username: z.string() });
export type HubSender = z.infer<typeof HubSender>;

const ClientId = z.string().min(1).max(128).optional();

/** What a client may send. `id` is the client's own correlation id, echoed on the frames it causes. */
export const HubClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("chat"), data: z.unknown(), id: ClientId }),
  z.object({ type: z.literal("typing"), data: z.unknown().optional(), id: ClientId }),
]);
export type HubClientFrame = z.infer<typeof HubClientFrame>;

/** Kinds of frame the hub sends. chat and event carry a per-room `seq` and are kept in the room's history. */
const HubFrameType = z.enum(["chat", "typing", "presence", "event", "error"]);

/** Every frame the hub sends: `{type, room?, data?, id?, seq?, ts}` (docs/hub.md), plus the sender where there is one. */
export const HubFrame = z.object({
  type: HubFrameType,
  room: RoomName.optional(),
  data: z.unknown().optional(),
  id: z.string().optional(),
  seq: z.number().int().positive().optional(),
  ts: z.number().int(),
  from: HubSender.optional(),
});
export type HubFrame = z.infer<typeof HubFrame>;

/**
 * presence's data: who joined or left. `members` (everyone online, the joiner included) is on the joining
 * socket's own join only; the others get the change, so a join costs O(members) frames' bytes, not O(members²).
 */
export const HubPresence = z.object({
  event: z.enum(["join", "leave"]),
  user: HubSender,
  members: z.array(HubSender).optional(),
});
export type HubPresence = z.infer<typeof HubPresence>;

/** What a service publishes: a server event for a room (kept in its history with a seq). */
export const HubEvent = z.object({ data: z.unknown(), id: z.string().min(1).max(128).optional() });
export type HubEvent = z.infer<typeof HubEvent>;

/** A members-only room as its owner, members and admins see it. */
export const HubRoomInfo = z.object({ room: RoomName, owner: z.string(), members: z.array(z.string()) });
export type HubRoomInfo = z.infer<typeof HubRoomInfo>;

export const HubRoomStats = z.object({ room: RoomName, online: z.number().int(), lastSeq: z.number().int() });
export type HubRoomStats = z.infer<typeof HubRoomStats>;

/** Whom a WebSocket ticket stands for: the claims the hub needs from an access token. */
export const HubTicketHolder = z.object({ sub: z.string(), username: z.string(), roles: z.array(z.string()) });
export type HubTicketHolder = z.infer<typeof HubTicketHolder>;

/** The old hub's frame (docs/hub.md "Legacy `/ws`"), kept for its clients on /ws. */
export const LegacyHubFrame = z.object({
  id: z.string(),
  type: z.enum(["connected", "chat", "status", "typing", "presence", "notification", "broadcast", "error"]),
  user_id: z.string(),
  room: z.string().optional(),
  content: z.string().optional(),
  data: z.unknown().optional(),
  timestamp: z.string(),
});
export type LegacyHubFrame = z.infer<typeof LegacyHubFrame>;

/** What an old client sends: join/leave with data.room, chat/typing to a room, broadcast to everyone. */
export const LegacyHubClientFrame = z.object({
  type: z.enum(["join", "leave", "chat", "typing", "broadcast"]),
  room: RoomName.optional(),
  content: z.string().max(65_536).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type LegacyHubClientFrame = z.infer<typeof LegacyHubClientFrame>;
