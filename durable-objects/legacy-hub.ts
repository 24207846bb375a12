// The old hub's protocol on /ws (docs/hub.md), for clients that cannot move to /v1/hub yet: one object
// for everyone, rooms per socket (everyone starts in `general`), no history. It differs from the old
// service where that was a bug: every socket is authenticated, and an oversized frame is answered, not dropped.
import { LEGACY_HUB_HOLDER } from "../src/lib/hub/connections";
import { LegacyHubClientFrame, type LegacyHubFrame, RoomName } from "../src/lib/hub/frames";
import { readConnect } from "../src/lib/hub/rooms";
import { type ErrorCode, errorBody } from "../src/lib/platform/errors";
import { refusalResponse, refuse } from "../src/lib/platform/refusal";
import { SocketRoom } from "./socket-room";

const LEGACY_DEFAULT_ROOM = "general";

/** What each socket carries through hibernation: who it is and the rooms it joined. */
interface Attachment {
  userId: string;
  connId: string;
  requestId: string;
  rooms: string[];
}

interface LegacyClient {
  id: string;
  user_id: string;
  rooms: string[];
}

/**
 * A presence frame for both old hubs: the simple hub's `content`/`data.status` (online/offline) and websocket-hub's
 * `data.state` (connected/disconnected) with a unix `data.timestamp`.
 */
function presence(userId: string, online: boolean): string {
  const status = online ? "online" : "offline";
  const state = online ? "connected" : "disconnected";
  return frame("presence", userId, {
    content: status,
    data: { status, state, timestamp: Math.floor(Date.now() / 1000) },
  });
}

function frame(type: LegacyHubFrame["type"], userId: string, rest: Partial<LegacyHubFrame> = {}): string {
  const out: LegacyHubFrame = {
    id: crypto.randomUUID(),
    type,
    user_id: userId,
    timestamp: new Date().toISOString(),
    ...rest,
  };
  return JSON.stringify(out);
}

export class LegacyHub extends SocketRoom<Attachment> {
  override async fetch(request: Request): Promise<Response> {
    const parsed = readConnect(request);
    if (!parsed.success) return refusalResponse(refuse("invalid_request", "Not a hub connect request"), "");
    const { user, requestId, protocol } = parsed.data;
    // The same per-user limit as /v1/hub, counted together with the user's sockets there.
    const registered = await this.register(user.id);
    if (!registered.ok) return refusalResponse(registered, requestId);
    const att: Attachment = { userId: user.id, connId: registered.value, requestId, rooms: [LEGACY_DEFAULT_ROOM] };
    const { client, server } = this.accept(att);
    server.send(
      frame("connected", user.id, {
        content: `Connected as ${user.username}`,
        room: LEGACY_DEFAULT_ROOM,
        // `rooms` as websocket-hub's welcome had it.
        data: { client_id: att.connId, rooms: [LEGACY_DEFAULT_ROOM] },
      }),
    );
    this.sendWhere(presence(user.id, true), undefined, att.connId);
    return this.upgrade(client, protocol);
  }

  // ---- RPC for the admin routes ----

  /** POST /broadcast: to everyone, or to one user's sockets. Returns how many sockets it was sent to. */
  broadcast(type: LegacyHubFrame["type"], content: string, userId?: string): number {
    const text = frame(type, "system", { content });
    return this.sendWhere(text, userId === undefined ? undefined : (att) => att.userId === userId);
  }

  clients(): LegacyClient[] {
    return this.attachments().map((a) => ({ id: a.connId, user_id: a.userId, rooms: a.rooms }));
  }

  // ---- the room's protocol ----

  protected override holder(): string {
    return LEGACY_HUB_HOLDER;
  }

  protected override userIdOf(att: Attachment): string {
    return att.userId;
  }

  protected override errorFrame(att: Attachment, code: ErrorCode, message: string): string {
    return frame("error", att.userId, { content: message, data: errorBody(code, message, att.requestId) });
  }

  protected override onLeave(att: Attachment): void {
    this.sendWhere(presence(att.userId, false), undefined, att.connId);
  }

  protected override onFrame(ws: WebSocket, att: Attachment, json: unknown): void {
    const parsed = LegacyHubClientFrame.safeParse(json);
    if (!parsed.success) {
      this.sendError(ws, att, "invalid_request", "Invalid frame");
      return;
    }
    const msg = parsed.data;
    const roomIn = RoomName.safeParse(msg.data?.room ?? msg.room ?? LEGACY_DEFAULT_ROOM);
    if (!roomIn.success) {
      this.sendError(ws, att, "invalid_request", "Invalid room name");
      return;
    }
    const room = roomIn.data;
    const inRoom = (other: Attachment) => other.rooms.includes(room);
    switch (msg.type) {
      case "join":
      case "leave": {
        const rooms = new Set(att.rooms);
        if (msg.type === "join") rooms.add(room);
        else rooms.delete(room);
        ws.serializeAttachment({ ...att, rooms: [...rooms] } satisfies Attachment);
        ws.send(
          frame("status", att.userId, { room, content: msg.type === "join" ? "joined" : "left", data: { room } }),
        );
        return;
      }
      case "chat":
        if (!att.rooms.includes(room)) {
          this.sendError(ws, att, "forbidden", `Join ${room} first`);
          return;
        }
        this.sendWhere(frame("chat", att.userId, { room, content: msg.content, data: msg.data }), inRoom);
        return;
      case "typing":
        this.sendWhere(frame("typing", att.userId, { room, data: msg.data }), inRoom, att.connId);
        return;
      case "broadcast":
        this.sendWhere(frame("broadcast", att.userId, { content: msg.content, data: msg.data }));
        return;
    }
  }
}
