// One WebSocket room per object (idFromName(room)), on the hibernation API: an idle room is evicted from
// memory with its sockets kept open, so everything a room needs after waking lives in the sockets'
// attachments and the object's SQLite storage (history, last seq, members, its own name).
import { DurableObject } from "cloudflare:workers";
import { type Config, type Env, getConfig } from "../src/lib/env";
import { type ErrorCode, errorBody, type Issue } from "../src/lib/errors";
import { readConnect, withinBytes } from "../src/lib/hub";
import { FloodGuards } from "../src/lib/hub-flood";
import {
  HubClientFrame,
  type HubEvent,
  type HubFrame,
  type HubPresence,
  type HubRoomStats,
  type HubSender,
} from "../src/lib/protocol";
import { toIssues } from "../src/lib/validate";

/** Messages kept per room for `since` replay; older ones are deleted as new ones arrive. */
export const HUB_HISTORY_LIMIT = 500;

/** What each socket carries through hibernation. */
interface Attachment {
  user: HubSender;
  connId: string;
  requestId: string;
}

function jsonError(code: ErrorCode, status: number, message: string, requestId: string, headers = {}): Response {
  return Response.json(errorBody(code, message, requestId), { status, headers });
}

export class Hub extends DurableObject<Env> {
  private readonly config: Config["hub"];
  /**
   * Per-socket message buckets. In memory only, on purpose: the object is evicted only after its sockets
   * have been quiet, and a quiet socket's bucket would have refilled anyway.
   */
  private readonly floods: FloodGuards;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = getConfig(env).hub;
    this.floods = new FloodGuards(this.config.messagesPerSecond);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL);
    `);
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ---- RPC for the Worker and other services ----

  /** The foundation's binding check: the object answers and has SQLite storage. */
  ping(): { sqlite: boolean } {
    const row = this.ctx.storage.sql.exec<{ one: number }>("SELECT 1 AS one").one();
    return { sqlite: row.one === 1 };
  }

  /** A server event into the room's history, delivered to everyone online. */
  publish(room: string, event: HubEvent): { seq: number } {
    this.remember(room);
    const frame = this.append({ type: "event", room, data: event.data, id: event.id, ts: Date.now() });
    return { seq: frame.seq ?? 0 };
  }

  stats(room: string): HubRoomStats {
    this.remember(room);
    return { room, online: this.online().length, lastSeq: this.lastSeq() };
  }

  /** Kept messages with a seq greater than `since`, oldest first, as the JSON text sent to sockets. */
  history(since = 0): string[] {
    return this.ctx.storage.sql
      .exec<{ frame: string }>("SELECT frame FROM messages WHERE seq > ? ORDER BY seq", since)
      .toArray()
      .map((row) => row.frame);
  }

  isMember(userId: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM members WHERE user_id = ?", userId).toArray().length > 0;
  }

  members(): string[] {
    return this.ctx.storage.sql
      .exec<{ user_id: string }>("SELECT user_id FROM members ORDER BY user_id")
      .toArray()
      .map((r) => r.user_id);
  }

  addMember(userId: string): void {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)", userId, Date.now());
  }

  /** Removes a member; their open sockets are closed, since they may no longer be in the room. */
  removeMember(userId: string): boolean {
    const removed = this.ctx.storage.sql.exec("DELETE FROM members WHERE user_id = ?", userId).rowsWritten > 0;
    for (const ws of this.ctx.getWebSockets(userId)) ws.close(1008, "no longer a member");
    return removed;
  }

  // ---- Connect (the Worker has already authenticated and authorised the socket) ----

  override fetch(request: Request): Response {
    const parsed = readConnect(request);
    if (!parsed.success) {
      return jsonError("invalid_request", 400, "Not a hub connect request", "");
    }
    const { room, user, requestId, protocol, since } = parsed.data;
    this.remember(room);
    if (this.ctx.getWebSockets(user.id).length >= this.config.maxConnectionsPerUser) {
      return jsonError(
        "rate_limited",
        429,
        `At most ${this.config.maxConnectionsPerUser} connections per user in one room`,
        requestId,
        { "Retry-After": "5" },
      );
    }
    const online = this.online();
    if (!online.some((m) => m.id === user.id) && online.length >= this.config.maxMembersPerRoom) {
      return jsonError("unavailable", 503, `The room is full (${this.config.maxMembersPerRoom} members)`, requestId, {
        "Retry-After": "30",
      });
    }

    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    // The user id as the tag: getWebSockets(userId) counts and closes one user's sockets.
    this.ctx.acceptWebSocket(server, [user.id]);
    server.serializeAttachment({ user, connId: crypto.randomUUID(), requestId } satisfies Attachment);
    // Synchronous from here to the join: no other event can slip a message between the replay and the live stream.
    if (since !== undefined) for (const frame of this.history(since)) server.send(frame);
    this.presence(room, "join", user);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
    });
  }

  // ---- Hibernation handlers ----

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const att = ws.deserializeAttachment() as Attachment;
    const room = this.roomName();
    if (!withinBytes(message, this.config.maxFrameBytes)) {
      this.sendError(ws, att, "payload_too_large", `Frames may be at most ${this.config.maxFrameBytes} bytes`);
      return;
    }
    const verdict = this.floods.take(att.connId);
    if (verdict === "close") {
      ws.close(1008, "message rate exceeded");
      return;
    }
    if (verdict === "reject") {
      this.sendError(ws, att, "rate_limited", `At most ${this.config.messagesPerSecond} frames per second`);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      this.sendError(ws, att, "invalid_request", "Frames must be JSON");
      return;
    }
    const parsed = HubClientFrame.safeParse(raw);
    if (!parsed.success) {
      this.sendError(ws, att, "invalid_request", "Invalid frame", toIssues(parsed.error, "body"));
      return;
    }
    const frame = parsed.data;
    const ts = Date.now();
    if (frame.type === "chat") {
      this.append({ type: "chat", room, data: frame.data, id: frame.id, ts, from: att.user });
    } else {
      this.broadcast({ type: "typing", room, data: frame.data, id: frame.id, ts, from: att.user }, att.connId);
    }
  }

  override webSocketClose(ws: WebSocket): void {
    this.left(ws);
  }

  override webSocketError(ws: WebSocket): void {
    this.left(ws);
  }

  // ---- Internals ----

  private left(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (!att) return;
    this.floods.forget(att.connId);
    // The close handshake is answered by the runtime; this also covers an error, where it was not.
    try {
      ws.close(1000, "bye");
    } catch {
      // already closed
    }
    this.presence(this.roomName(), "leave", att.user, att.connId);
  }

  /** The room's name, stored on first use: after waking, no request is there to say it. */
  private remember(room: string): void {
    if (this.ctx.storage.kv.get<string>("room") !== room) this.ctx.storage.kv.put("room", room);
  }

  private roomName(): string {
    return this.ctx.storage.kv.get<string>("room") ?? "";
  }

  private lastSeq(): number {
    return this.ctx.storage.kv.get<number>("lastSeq") ?? 0;
  }

  /** Numbers, keeps (the last HUB_HISTORY_LIMIT) and delivers a room message; one synchronous step. */
  private append(frame: Omit<HubFrame, "seq">): HubFrame {
    const seq = this.lastSeq() + 1;
    const numbered: HubFrame = { ...frame, seq };
    const text = JSON.stringify(numbered);
    this.ctx.storage.sql.exec("INSERT INTO messages (seq, frame) VALUES (?, ?)", seq, text);
    this.ctx.storage.sql.exec("DELETE FROM messages WHERE seq <= ?", seq - HUB_HISTORY_LIMIT);
    this.ctx.storage.kv.put("lastSeq", seq);
    this.sendAll(text);
    return numbered;
  }

  /** Distinct users with an open socket, except the connection that is leaving. */
  private online(exceptConnId?: string): HubSender[] {
    const users = new Map<string, HubSender>();
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att && att.connId !== exceptConnId) users.set(att.user.id, att.user);
    }
    return [...users.values()];
  }

  private presence(room: string, event: "join" | "leave", user: HubSender, exceptConnId?: string): void {
    const members = this.online(exceptConnId);
    const data: HubPresence = { event, user, members };
    this.broadcast({ type: "presence", room, data, ts: Date.now() }, exceptConnId);
  }

  private broadcast(frame: HubFrame, exceptConnId?: string): void {
    this.sendAll(JSON.stringify(frame), exceptConnId);
  }

  private sendAll(text: string, exceptConnId?: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      // Reading an attachment deserialises it: only pay for that when someone is to be skipped.
      if (exceptConnId !== undefined && (ws.deserializeAttachment() as Attachment).connId === exceptConnId) continue;
      try {
        ws.send(text);
      } catch {
        // A socket that is closing; its close handler sends the presence.
      }
    }
  }

  private sendError(ws: WebSocket, att: Attachment, code: ErrorCode, message: string, issues?: Issue[]): void {
    const frame: HubFrame = {
      type: "error",
      room: this.roomName(),
      data: errorBody(code, message, att.requestId, issues),
      ts: Date.now(),
    };
    ws.send(JSON.stringify(frame));
  }
}
