// One WebSocket room per object (idFromName(room)), on the hibernation API: an idle room is evicted from
// memory with its sockets kept open, so everything a room needs after waking lives in the sockets'
// attachments and the object's SQLite storage (history, last seq, members, its own name).
import { DurableObject } from "cloudflare:workers";
import { registerSocket, releaseSocket } from "../src/lib/hub/connections";
import { reportRoom } from "../src/lib/hub/directory";
import { FloodGuards } from "../src/lib/hub/flood";
import {
  HubClientFrame,
  type HubEvent,
  type HubFrame,
  type HubPresence,
  type HubRoomInfo,
  type HubRoomStats,
  type HubSender,
} from "../src/lib/hub/frames";
import { HUB_HISTORY_TRUNCATED, readConnect, roomKind } from "../src/lib/hub/rooms";
import { admitFrame, detachSocket, upgradeResponse } from "../src/lib/hub/socket";
import { type Config, type Env, getConfig } from "../src/lib/platform/env";
import { type ErrorCode, errorBody, type Issue } from "../src/lib/platform/errors";
import { toIssues } from "../src/lib/platform/validate";
import { migrateSqlite } from "./sqlite-migrations";

/** Messages kept per room for `since` replay; older ones are deleted as new ones arrive. */
export const HUB_HISTORY_LIMIT = 500;
/** Members a members-only room may list (its owner included). */
const HUB_MEMBER_LIST_LIMIT = 10_000;

type AddMemberResult = "added" | "exists" | "full" | "no_room";
type RemoveMemberResult = "removed" | "not_member" | "owner";

/** What each socket carries through hibernation. */
interface Attachment {
  user: HubSender;
  connId: string;
  requestId: string;
}

function jsonError(code: ErrorCode, status: number, message: string, requestId: string, headers = {}): Response {
  return Response.json(errorBody(code, message, requestId), { status, headers });
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL);`,
];

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
    migrateSqlite(ctx.storage, MIGRATIONS);
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ---- RPC for the Worker and other services ----

  /** The binding check (/health and tests/workers/bindings.test.ts): the object answers and has SQLite storage. */
  ping(): { sqlite: boolean } {
    const row = this.ctx.storage.sql.exec<{ one: number }>("SELECT 1 AS one").one();
    return { sqlite: row.one === 1 };
  }

  /**
   * A server event into the room's history, delivered to everyone online; null for a members-only room that
   * nobody created (or that was deleted): nobody could read it, and it must not wait for a future owner.
   */
  publish(room: string, event: HubEvent): { seq: number } | null {
    this.remember(room);
    if (roomKind(room) === "members" && this.owner() === undefined) return null;
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

  /** A members-only room's owner and members; null when nobody created it (or it was deleted). */
  info(room: string): HubRoomInfo | null {
    this.remember(room);
    const owner = this.owner();
    return owner === undefined ? null : { room, owner, members: this.members() };
  }

  /**
   * Creates a members-only room owned (and joined) by `ownerId`; null when it already exists. Its history
   * starts empty whatever the name held before (an admin may chat in a room nobody created), while the last
   * seq stays, so no sequence number is ever reused.
   */
  create(room: string, ownerId: string): HubRoomInfo | null {
    this.remember(room);
    if (this.owner() !== undefined) return null;
    this.ctx.storage.sql.exec("DELETE FROM messages");
    this.ctx.storage.kv.put("owner", ownerId);
    this.addMember(ownerId);
    this.report();
    return this.info(room);
  }

  addMember(userId: string): AddMemberResult {
    if (this.owner() === undefined) return "no_room";
    if (this.isMember(userId)) return "exists";
    const count = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM members").one().n;
    if (count >= HUB_MEMBER_LIST_LIMIT) return "full";
    this.ctx.storage.sql.exec("INSERT INTO members (user_id, added_at) VALUES (?, ?)", userId, Date.now());
    return "added";
  }

  /** Removes a member and closes their open sockets here, since they may no longer be in the room. */
  removeMember(userId: string): RemoveMemberResult {
    if (userId === this.owner()) return "owner";
    const removed = this.ctx.storage.sql.exec("DELETE FROM members WHERE user_id = ?", userId).rowsWritten > 0;
    if (!removed) return "not_member";
    for (const ws of this.ctx.getWebSockets(userId)) ws.close(1008, "no longer a member");
    return "removed";
  }

  /** Hands the room to another user (made a member if they were not); the old owner stays a member. */
  transfer(room: string, newOwner: string): HubRoomInfo | null {
    if (this.owner() === undefined) return null;
    this.ctx.storage.kv.put("owner", newOwner);
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)", newOwner, Date.now());
    return this.info(room);
  }

  /**
   * Deletes a members-only room: its owner, members and history go and every socket is closed. The last seq
   * stays, so a room made again under the name never reuses a sequence number.
   */
  destroy(): boolean {
    if (this.owner() === undefined) return false;
    this.ctx.storage.kv.delete("owner");
    this.ctx.storage.sql.exec("DELETE FROM members");
    this.ctx.storage.sql.exec("DELETE FROM messages");
    for (const ws of this.ctx.getWebSockets()) ws.close(1008, "room deleted");
    this.report();
    return true;
  }

  /** Ids of the user's sockets open here: what HubConnections asks when it heals its count. */
  openSockets(userId: string): string[] {
    return this.ctx.getWebSockets(userId).flatMap((ws) => {
      const att = ws.deserializeAttachment() as Attachment | null;
      return att ? [att.connId] : [];
    });
  }

  // ---- Connect (the Worker has already authenticated and authorised the socket) ----

  override async fetch(request: Request): Promise<Response> {
    const parsed = readConnect(request);
    if (!parsed.success) {
      return jsonError("invalid_request", 400, "Not a hub connect request", "");
    }
    const { room, user, requestId, protocol, since, asMember } = parsed.data;
    this.remember(room);
    // Checked before the registration and again after it: others may have joined, or the user been removed
    // (the Worker checked membership before forwarding), while it was in flight.
    const refusal = (): Response | null => {
      if (asMember && !this.isMember(user.id)) {
        return jsonError("forbidden", 403, `You may not enter ${room}`, requestId);
      }
      if (!this.roomFull(user.id)) return null;
      return jsonError("unavailable", 503, `The room is full (${this.config.maxMembersPerRoom} members)`, requestId, {
        "Retry-After": "30",
      });
    };
    const early = refusal();
    if (early) return early;
    const connId = crypto.randomUUID();
    const registered = await registerSocket(this.env, user.id, room, connId);
    if (!registered.ok) {
      return jsonError(
        "rate_limited",
        429,
        `At most ${registered.limit} hub connections per user, across all rooms`,
        requestId,
        { "Retry-After": "5" },
      );
    }
    const late = refusal();
    if (late) {
      this.ctx.waitUntil(releaseSocket(this.env, user.id, connId));
      return late;
    }

    // Synchronous from here to the join: no other event can slip a message between the replay and the live stream.
    const firstOfUser = this.ctx.getWebSockets(user.id).length === 0;
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    // The user id as the tag: getWebSockets(userId) counts and closes one user's sockets.
    this.ctx.acceptWebSocket(server, [user.id]);
    server.serializeAttachment({ user, connId, requestId } satisfies Attachment);
    if (since !== undefined) this.replay(server, room, since);
    // The joiner alone gets the member list; the others get who joined (once per user, not per socket), so a
    // join costs O(members), not O(members²).
    const joined: HubPresence = { event: "join", user, members: this.online() };
    server.send(JSON.stringify({ type: "presence", room, data: joined, ts: Date.now() } satisfies HubFrame));
    if (firstOfUser) this.broadcast(this.presenceFrame(room, "join", user), connId);
    this.report();
    return upgradeResponse(client, protocol);
  }

  // ---- Hibernation handlers ----

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    // Frames still queued behind a close arrive after left() cleared the attachment: nobody to answer.
    if (!att) return;
    const room = this.roomName();
    const admitted = admitFrame(ws, att.connId, message, this.floods, this.config);
    if (admitted === "closed") return;
    if (!("json" in admitted)) {
      this.sendError(ws, att, admitted.code, admitted.message);
      return;
    }
    const parsed = HubClientFrame.safeParse(admitted.json);
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

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  // ---- Internals ----

  private async left(ws: WebSocket): Promise<void> {
    const att = detachSocket<Attachment>(ws, this.floods);
    if (!att) return;
    const stillHere = this.openSockets(att.user.id).some((id) => id !== att.connId);
    if (!stillHere) this.broadcast(this.presenceFrame(this.roomName(), "leave", att.user), att.connId);
    this.report();
    await releaseSocket(this.env, att.user.id, att.connId);
  }

  /** Tells the hub's directory what this room holds now (for the admin console), after the current event. */
  private report(): void {
    const owner = this.owner() ?? null;
    const sockets = this.ctx.getWebSockets().filter((ws) => ws.deserializeAttachment() !== null).length;
    const members = owner === null ? 0 : this.members().length;
    const summary = { room: this.roomName(), online: this.online().length, sockets, owner, members };
    this.ctx.waitUntil(reportRoom(this.env, { ...summary, lastSeq: this.lastSeq() }));
  }

  /** Replays the kept messages after `since`, first saying so when some of them are no longer kept. */
  private replay(ws: WebSocket, room: string, since: number): void {
    const frames = this.history(since);
    const oldestSeq = frames.length ? ((JSON.parse(frames[0] as string) as HubFrame).seq ?? 0) : this.lastSeq() + 1;
    if (oldestSeq > since + 1) {
      const data = { kind: HUB_HISTORY_TRUNCATED, since, oldestSeq, lastSeq: this.lastSeq() };
      ws.send(JSON.stringify({ type: "event", room, data, ts: Date.now() } satisfies HubFrame));
    }
    for (const frame of frames) ws.send(frame);
  }

  private roomFull(userId: string): boolean {
    const online = this.online();
    return !online.some((m) => m.id === userId) && online.length >= this.config.maxMembersPerRoom;
  }

  private owner(): string | undefined {
    return this.ctx.storage.kv.get<string>("owner");
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

  /** Distinct users with an open socket. */
  private online(): HubSender[] {
    const users = new Map<string, HubSender>();
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att) users.set(att.user.id, att.user);
    }
    return [...users.values()];
  }

  /** What the others hear of a join or leave: who, without the member list. */
  private presenceFrame(room: string, event: "join" | "leave", user: HubSender): HubFrame {
    const data: HubPresence = { event, user };
    return { type: "presence", room, data, ts: Date.now() };
  }

  private broadcast(frame: HubFrame, exceptConnId?: string): void {
    this.sendAll(JSON.stringify(frame), exceptConnId);
  }

  private sendAll(text: string, exceptConnId?: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      // Reading an attachment deserialises it: only pay for that when someone is to be skipped.
      if (exceptConnId !== undefined && (ws.deserializeAttachment() as Attachment | null)?.connId === exceptConnId) {
        continue;
      }
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
