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

/**
 * Which old hub a socket speaks (docs/legacy.md "Which generation answers where"): the root-level simple hub on /ws
 * (absent), or go-services/websocket-hub on /websocket-hub/ws. Both share this object, its rooms and its users;
 * each socket gets the frames its own hub sent.
 */
export type LegacyHubGeneration = "websocket-hub";
const WEBSOCKET_HUB_PATH = "/websocket-hub/";

/** What each socket carries through hibernation: who it is and the rooms it joined. */
interface Attachment {
  userId: string;
  connId: string;
  requestId: string;
  rooms: string[];
  generation?: LegacyHubGeneration;
  /** When the socket connected (ms); absent on sockets from before it was kept. */
  since?: number;
}

export interface LegacyClient {
  id: string;
  user_id: string;
  rooms: string[];
  generation: "simple" | LegacyHubGeneration;
  connected_at: number | null;
}

type Recipient = (att: Attachment) => string | undefined;

/**
 * A presence frame. The simple hub's keeps `content`/`data.status` (online/offline) and also carries websocket-hub's
 * `data.state` and unix `data.timestamp`; websocket-hub's own is exactly its shape (`content` is the state).
 */
function presence(userId: string, online: boolean): Recipient {
  const status = online ? "online" : "offline";
  const state = online ? "connected" : "disconnected";
  const timestamp = Math.floor(Date.now() / 1000);
  const simple = frame("presence", userId, { content: status, data: { status, state, timestamp } });
  const websocketHub = frame("presence", userId, { content: state, data: { state, timestamp } });
  return (att) => (att.generation === "websocket-hub" ? websocketHub : simple);
}

/** websocket-hub told a room's members (the joiner included; not the leaver) who joined or left. */
function roomNotice(userId: string, room: string, joined: boolean): string {
  return frame("status", userId, { room, content: `User ${userId} ${joined ? "joined" : "left"} the room` });
}

const inRoom =
  (room: string) =>
  (att: Attachment): boolean =>
    att.rooms.includes(room);

/** A frame only websocket-hub's sockets receive (the simple hub sent nothing there). */
const forWebsocketHub =
  (text: string): Recipient =>
  (att) =>
    att.generation === "websocket-hub" ? text : undefined;

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
    const websocketHub = new URL(request.url).pathname.startsWith(WEBSOCKET_HUB_PATH);
    const att: Attachment = {
      userId: user.id,
      connId: registered.value,
      requestId,
      rooms: [LEGACY_DEFAULT_ROOM],
      since: Date.now(),
      ...(websocketHub ? { generation: "websocket-hub" as const } : {}),
    };
    const { client, server } = this.accept(att);
    const welcome = { client_id: att.connId, rooms: [LEGACY_DEFAULT_ROOM] };
    if (websocketHub) {
      // websocket-hub's order: the welcome (no user_id), the join notice to `general`, then presence to everyone.
      server.send(frame("status", "", { content: "Welcome to the WebSocket hub", data: welcome }));
      this.sendWhere(forWebsocketHub(roomNotice(user.id, LEGACY_DEFAULT_ROOM, true)), inRoom(LEGACY_DEFAULT_ROOM));
    } else {
      server.send(
        frame("connected", user.id, {
          content: `Connected as ${user.username}`,
          room: LEGACY_DEFAULT_ROOM,
          // `rooms` as websocket-hub's welcome had it.
          data: welcome,
        }),
      );
    }
    // websocket-hub sent the presence to everyone, the new socket too; the simple hub to the others.
    const online = presence(user.id, true);
    this.sendWhere((other) =>
      other.connId !== att.connId || other.generation === "websocket-hub" ? online(other) : undefined,
    );
    return this.upgrade(client, protocol);
  }

  // ---- RPC for the admin routes ----

  /** POST /broadcast: to everyone, or to one user's sockets. Returns how many sockets it was sent to. */
  broadcast(type: LegacyHubFrame["type"], content: string, userId?: string, data?: Record<string, unknown>): number {
    const text = frame(type, "system", data === undefined ? { content } : { content, data });
    return this.sendWhere(text, userId === undefined ? undefined : (att) => att.userId === userId);
  }

  clients(): LegacyClient[] {
    return this.attachments().map((a) => ({
      id: a.connId,
      user_id: a.userId,
      rooms: a.rooms,
      generation: a.generation ?? "simple",
      connected_at: a.since ?? null,
    }));
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
    switch (msg.type) {
      case "join":
      case "leave": {
        const rooms = new Set(att.rooms);
        if (msg.type === "join") rooms.add(room);
        else rooms.delete(room);
        ws.serializeAttachment({ ...att, rooms: [...rooms] } satisfies Attachment);
        if (att.generation === "websocket-hub") {
          // To the room's websocket-hub sockets: after joining, the joiner too; after leaving, the others.
          this.sendWhere(forWebsocketHub(roomNotice(att.userId, room, msg.type === "join")), inRoom(room));
          return;
        }
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
        this.sendWhere(frame("chat", att.userId, { room, content: msg.content, data: msg.data }), inRoom(room));
        return;
      case "typing":
        this.sendWhere(frame("typing", att.userId, { room, data: msg.data }), inRoom(room), att.connId);
        return;
      case "broadcast":
        this.sendWhere(frame("broadcast", att.userId, { content: msg.content, data: msg.data }));
        return;
    }
  }
}
