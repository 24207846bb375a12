// The old hub's protocol on /ws (docs/hub.md), for clients that cannot move to /v1/hub yet: one object
// for everyone, rooms per socket (everyone starts in `general`), no history. It differs from the old
// service where that was a bug: every socket is authenticated, and an oversized frame is answered, not dropped.
import { DurableObject } from "cloudflare:workers";
import { LEGACY_HUB_HOLDER, registerSocket, releaseSocket } from "../src/lib/hub/connections";
import { FloodGuards } from "../src/lib/hub/flood";
import { LegacyHubClientFrame, type LegacyHubFrame, RoomName } from "../src/lib/hub/frames";
import { readConnect } from "../src/lib/hub/rooms";
import { admitFrame, detachSocket, upgradeResponse } from "../src/lib/hub/socket";
import { type Config, type Env, getConfig } from "../src/lib/platform/env";
import { type ErrorCode, errorBody } from "../src/lib/platform/errors";

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

export class LegacyHub extends DurableObject<Env> {
  private readonly config: Config["hub"];
  /** In memory only: a socket quiet long enough for the object to be evicted has a full bucket anyway. */
  private readonly floods: FloodGuards;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = getConfig(env).hub;
    this.floods = new FloodGuards(this.config.messagesPerSecond);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    const parsed = readConnect(request);
    if (!parsed.success)
      return Response.json(errorBody("invalid_request", "Not a hub connect request", ""), { status: 400 });
    const { user, requestId, protocol } = parsed.data;
    const connId = crypto.randomUUID();
    // The same per-user limit as /v1/hub, counted together with the user's sockets there.
    const registered = await registerSocket(this.env, user.id, LEGACY_HUB_HOLDER, connId);
    if (!registered.ok) {
      return Response.json(
        errorBody("rate_limited", `At most ${registered.limit} hub connections per user, across all rooms`, requestId),
        { status: 429, headers: { "Retry-After": "5" } },
      );
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [user.id]);
    const websocketHub = new URL(request.url).pathname.startsWith(WEBSOCKET_HUB_PATH);
    const att: Attachment = {
      userId: user.id,
      connId,
      requestId,
      rooms: [LEGACY_DEFAULT_ROOM],
      since: Date.now(),
      ...(websocketHub ? { generation: "websocket-hub" as const } : {}),
    };
    server.serializeAttachment(att);
    const welcome = { client_id: att.connId, rooms: [LEGACY_DEFAULT_ROOM] };
    if (websocketHub) {
      // websocket-hub's order: the welcome (no user_id), the join notice to `general`, then presence to everyone.
      server.send(frame("status", "", { content: "Welcome to the WebSocket hub", data: welcome }));
      this.send(this.forWebsocketHub(roomNotice(user.id, LEGACY_DEFAULT_ROOM, true)), this.inRoom(LEGACY_DEFAULT_ROOM));
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
    this.send((other) => (other.connId !== connId || other.generation === "websocket-hub" ? online(other) : undefined));
    return upgradeResponse(client, protocol);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    // Frames still queued behind a close arrive after left() cleared the attachment: nobody to answer.
    if (!att) return;
    const admitted = admitFrame(ws, att.connId, message, this.floods, this.config);
    if (admitted === "closed") return;
    if (!("json" in admitted)) {
      this.error(ws, att, admitted.code, admitted.message);
      return;
    }
    const parsed = LegacyHubClientFrame.safeParse(admitted.json);
    if (!parsed.success) {
      this.error(ws, att, "invalid_request", "Invalid frame");
      return;
    }
    const msg = parsed.data;
    const roomIn = RoomName.safeParse(msg.data?.room ?? msg.room ?? LEGACY_DEFAULT_ROOM);
    if (!roomIn.success) {
      this.error(ws, att, "invalid_request", "Invalid room name");
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
          this.send(this.forWebsocketHub(roomNotice(att.userId, room, msg.type === "join")), this.inRoom(room));
          return;
        }
        ws.send(
          frame("status", att.userId, { room, content: msg.type === "join" ? "joined" : "left", data: { room } }),
        );
        return;
      }
      case "chat":
        if (!att.rooms.includes(room)) {
          this.error(ws, att, "forbidden", `Join ${room} first`);
          return;
        }
        this.send(frame("chat", att.userId, { room, content: msg.content, data: msg.data }), this.inRoom(room));
        return;
      case "typing":
        this.send(frame("typing", att.userId, { room, data: msg.data }), this.inRoom(room), att.connId);
        return;
      case "broadcast":
        this.send(frame("broadcast", att.userId, { content: msg.content, data: msg.data }), () => true);
        return;
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  // ---- RPC for the admin routes ----

  /** POST /broadcast: to everyone, or to one user's sockets. Returns how many sockets it was sent to. */
  broadcast(type: LegacyHubFrame["type"], content: string, userId?: string, data?: Record<string, unknown>): number {
    const text = frame(type, "system", data === undefined ? { content } : { content, data });
    return this.send(text, (att) => userId === undefined || att.userId === userId);
  }

  /** Ids of the user's sockets open here: what HubConnections asks when it heals its count. */
  openSockets(userId: string): string[] {
    return this.attachments()
      .filter((a) => a.userId === userId)
      .map((a) => a.connId);
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

  // ---- Internals ----

  private attachments(exceptConnId?: string): Attachment[] {
    const out: Attachment[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att && att.connId !== exceptConnId) out.push(att);
    }
    return out;
  }

  private inRoom(room: string): (att: Attachment) => boolean {
    return (att) => att.rooms.includes(room);
  }

  /** A frame only websocket-hub's sockets receive (the simple hub sent nothing there). */
  private forWebsocketHub(text: string): Recipient {
    return (att) => (att.generation === "websocket-hub" ? text : undefined);
  }

  /** Sends to each socket that `to` admits the frame `text` renders for it (none when it renders undefined). */
  private send(text: string | Recipient, to: (att: Attachment) => boolean = () => true, exceptConnId?: string): number {
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.connId === exceptConnId || !to(att)) continue;
      const out = typeof text === "string" ? text : text(att);
      if (out === undefined) continue;
      try {
        ws.send(out);
        sent++;
      } catch {
        // A socket that is closing; its close handler sends the presence.
      }
    }
    return sent;
  }

  private error(ws: WebSocket, att: Attachment, code: ErrorCode, message: string): void {
    ws.send(frame("error", att.userId, { content: message, data: errorBody(code, message, att.requestId) }));
  }

  private async left(ws: WebSocket): Promise<void> {
    const att = detachSocket<Attachment>(ws, this.floods);
    if (!att) return;
    // websocket-hub left the rooms without a notice, then sent the presence.
    this.send(presence(att.userId, false), () => true, att.connId);
    await releaseSocket(this.env, att.userId, att.connId);
  }
}
