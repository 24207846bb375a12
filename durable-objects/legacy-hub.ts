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
    const att: Attachment = { userId: user.id, connId, requestId, rooms: [LEGACY_DEFAULT_ROOM] };
    server.serializeAttachment(att);
    server.send(
      frame("connected", user.id, {
        content: `Connected as ${user.username}`,
        room: LEGACY_DEFAULT_ROOM,
        // `rooms` as websocket-hub's welcome had it.
        data: { client_id: att.connId, rooms: [LEGACY_DEFAULT_ROOM] },
      }),
    );
    this.send(presence(user.id, true), () => true, att.connId);
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
          this.error(ws, att, "forbidden", `Join ${room} first`);
          return;
        }
        this.send(frame("chat", att.userId, { room, content: msg.content, data: msg.data }), inRoom);
        return;
      case "typing":
        this.send(frame("typing", att.userId, { room, data: msg.data }), inRoom, att.connId);
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
  broadcast(type: LegacyHubFrame["type"], content: string, userId?: string): number {
    const text = frame(type, "system", { content });
    return this.send(text, (att) => userId === undefined || att.userId === userId);
  }

  /** Ids of the user's sockets open here: what HubConnections asks when it heals its count. */
  openSockets(userId: string): string[] {
    return this.attachments()
      .filter((a) => a.userId === userId)
      .map((a) => a.connId);
  }

  clients(): LegacyClient[] {
    return this.attachments().map((a) => ({ id: a.connId, user_id: a.userId, rooms: a.rooms }));
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

  private send(text: string, to: (att: Attachment) => boolean, exceptConnId?: string): number {
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.connId === exceptConnId || !to(att)) continue;
      try {
        ws.send(text);
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
    this.send(presence(att.userId, false), () => true, att.connId);
    await releaseSocket(this.env, att.userId, att.connId);
  }
}
