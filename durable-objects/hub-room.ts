// One WebSocket room per object (getByName(room)), on the hibernation API: an idle room is evicted from
// memory with its sockets kept open, so everything a room needs after waking lives in the sockets'
// attachments, the object's SQLite storage (history, last seq, members) and its id (its name, ctx.id.name).
import { reportRoom } from "../src/lib/hub/directory";
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
import type { Env } from "../src/lib/platform/env";
import { type ErrorCode, errorBody, type Issue } from "../src/lib/platform/errors";
import { ok, type Refusable, refusalResponse, refuse } from "../src/lib/platform/refusal";
import { toIssues } from "../src/lib/platform/validate";
import { SocketRoom } from "./socket-room";
import { migrateSqlite } from "./sqlite-migrations";

/** Messages kept per room for `since` replay; older ones are deleted as new ones arrive. */
export const HUB_HISTORY_LIMIT = 500;
/** Members a members-only room may list (its owner included). */
const HUB_MEMBER_LIST_LIMIT = 10_000;

/** What each socket carries through hibernation. */
interface Attachment {
  user: HubSender;
  connId: string;
  requestId: string;
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL);`,
];

export class Hub extends SocketRoom<Attachment> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  // ---- RPC for the Worker and other services ----

  /**
   * A server event into the room's history, delivered to everyone online; refused (404) for a members-only room
   * that nobody created (or that was deleted): nobody could read it, and it must not wait for a future owner.
   */
  publish(event: HubEvent): Refusable<{ seq: number }> {
    const room = this.roomName;
    if (roomKind(room) === "members" && this.owner() === undefined) return refuse("not_found", `No room ${room}`);
    const frame = this.append({ type: "event", room, data: event.data, id: event.id, ts: Date.now() });
    return ok({ seq: frame.seq ?? 0 });
  }

  stats(): HubRoomStats {
    return { room: this.roomName, online: this.online().length, lastSeq: this.lastSeq() };
  }

  /** Kept messages with a seq greater than `since`, oldest first, as the JSON text sent to sockets. */
  private history(since = 0): string[] {
    return this.ctx.storage.sql
      .exec<{ frame: string }>("SELECT frame FROM messages WHERE seq > ? ORDER BY seq", since)
      .toArray()
      .map((row) => row.frame);
  }

  isMember(userId: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM members WHERE user_id = ?", userId).toArray().length > 0;
  }

  private members(): string[] {
    return this.ctx.storage.sql
      .exec<{ user_id: string }>("SELECT user_id FROM members ORDER BY user_id")
      .toArray()
      .map((r) => r.user_id);
  }

  /** A members-only room's owner and members; null when nobody created it (or it was deleted). */
  info(): HubRoomInfo | null {
    const owner = this.owner();
    return owner === undefined ? null : { room: this.roomName, owner, members: this.members() };
  }

  /**
   * Creates a members-only room owned (and joined) by `ownerId`; refused (409) when it exists. Its history starts
   * empty whatever the name held before (an admin may chat in a room nobody created), while the last seq stays, so
   * no sequence number is ever reused.
   */
  create(ownerId: string): Refusable<HubRoomInfo> {
    if (this.owner() !== undefined) return refuse("conflict", `${this.roomName} exists`);
    this.ctx.storage.sql.exec("DELETE FROM messages");
    this.ctx.storage.kv.put("owner", ownerId);
    this.addMember(ownerId);
    this.report();
    return this.found();
  }

  /** Adds a member (again is fine); refused when the room does not exist (404) or its list is full (409). */
  addMember(userId: string): Refusable<"added" | "exists"> {
    if (this.owner() === undefined) return this.noRoom();
    if (this.isMember(userId)) return ok("exists");
    const count = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM members").one().n;
    if (count >= HUB_MEMBER_LIST_LIMIT) return refuse("conflict", `${this.roomName} has as many members as a room may`);
    this.ctx.storage.sql.exec("INSERT INTO members (user_id, added_at) VALUES (?, ?)", userId, Date.now());
    return ok("added");
  }

  /** Removes a member and closes their open sockets here, since they may no longer be in the room. */
  removeMember(userId: string): Refusable<void> {
    if (userId === this.owner()) {
      return refuse("conflict", "The owner cannot be removed; transfer or delete the room");
    }
    const removed = this.ctx.storage.sql.exec("DELETE FROM members WHERE user_id = ?", userId).rowsWritten > 0;
    if (!removed) return refuse("not_found", `${userId} is not a member of ${this.roomName}`);
    for (const ws of this.ctx.getWebSockets(userId)) ws.close(1008, "no longer a member");
    return ok(undefined);
  }

  /** Hands the room to another user (made a member if they were not); the old owner stays a member. */
  transfer(newOwner: string): Refusable<HubRoomInfo> {
    if (this.owner() === undefined) return this.noRoom();
    this.ctx.storage.kv.put("owner", newOwner);
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)", newOwner, Date.now());
    return this.found();
  }

  /**
   * Deletes a members-only room: its owner, members and history go and every socket is closed. The last seq
   * stays, so a room made again under the name never reuses a sequence number.
   */
  destroy(): Refusable<void> {
    if (this.owner() === undefined) return this.noRoom();
    this.ctx.storage.kv.delete("owner");
    this.ctx.storage.sql.exec("DELETE FROM members");
    this.ctx.storage.sql.exec("DELETE FROM messages");
    for (const ws of this.ctx.getWebSockets()) ws.close(1008, "room deleted");
    this.report();
    return ok(undefined);
  }

  // ---- Connect (the Worker has already authenticated and authorised the socket) ----

  override async fetch(request: Request): Promise<Response> {
    const parsed = readConnect(request);
    if (!parsed.success) return refusalResponse(refuse("invalid_request", "Not a hub connect request"), "");
    const { user, requestId, protocol, since, asMember } = parsed.data;
    const room = this.roomName;
    // Checked before the registration and again after it: others may have joined, or the user been removed
    // (the Worker checked membership before forwarding), while it was in flight.
    const refusal = () => {
      if (asMember && !this.isMember(user.id)) return refuse("forbidden", `You may not enter ${room}`);
      if (!this.roomFull(user.id)) return null;
      return refuse("unavailable", `The room is full (${this.config.maxMembersPerRoom} members)`, { retryAfter: 30 });
    };
    const early = refusal();
    if (early) return refusalResponse(early, requestId);
    const registered = await this.register(user.id);
    if (!registered.ok) return refusalResponse(registered, requestId);
    const connId = registered.value;
    const late = refusal();
    if (late) {
      this.unregister(user.id, connId);
      return refusalResponse(late, requestId);
    }

    // Synchronous from here to the join: no other event can slip a message between the replay and the live stream.
    const firstOfUser = this.ctx.getWebSockets(user.id).length === 0;
    const { client, server } = this.accept({ user, connId, requestId });
    if (since !== undefined) this.replay(server, room, since);
    // The joiner alone gets the member list; the others get who joined (once per user, not per socket), so a
    // join costs O(members), not O(members²).
    const joined: HubPresence = { event: "join", user, members: this.online() };
    server.send(JSON.stringify({ type: "presence", room, data: joined, ts: Date.now() } satisfies HubFrame));
    if (firstOfUser) this.broadcast(this.presenceFrame(room, "join", user), connId);
    this.report();
    return this.upgrade(client, protocol);
  }

  // ---- The room's protocol ----

  protected override userIdOf(att: Attachment): string {
    return att.user.id;
  }

  protected override errorFrame(att: Attachment, code: ErrorCode, message: string, issues?: Issue[]): string {
    const frame: HubFrame = {
      type: "error",
      room: this.roomName,
      data: errorBody(code, message, att.requestId, issues),
      ts: Date.now(),
    };
    return JSON.stringify(frame);
  }

  protected override onFrame(ws: WebSocket, att: Attachment, json: unknown): void {
    const parsed = HubClientFrame.safeParse(json);
    if (!parsed.success) {
      this.sendError(ws, att, "invalid_request", "Invalid frame", toIssues(parsed.error, "body"));
      return;
    }
    const frame = parsed.data;
    const room = this.roomName;
    const ts = Date.now();
    if (frame.type === "chat") {
      this.append({ type: "chat", room, data: frame.data, id: frame.id, ts, from: att.user });
    } else {
      this.broadcast({ type: "typing", room, data: frame.data, id: frame.id, ts, from: att.user }, att.connId);
    }
  }

  protected override onLeave(att: Attachment): void {
    const stillHere = this.openSockets(att.user.id).some((id) => id !== att.connId);
    if (!stillHere) this.broadcast(this.presenceFrame(this.roomName, "leave", att.user), att.connId);
    this.report();
  }

  // ---- Internals ----

  /** Tells the hub's directory what this room holds now (for the admin console), after the current event. */
  private report(): void {
    const owner = this.owner() ?? null;
    const sockets = this.ctx.getWebSockets().filter((ws) => ws.deserializeAttachment() !== null).length;
    const members = owner === null ? 0 : this.members().length;
    const summary = { room: this.roomName, online: this.online().length, sockets, owner, members };
    this.ctx.waitUntil(reportRoom(this.env, { ...summary, lastSeq: this.lastSeq() }));
  }

  private found(): Refusable<HubRoomInfo> {
    const info = this.info();
    return info ? ok(info) : this.noRoom();
  }

  private noRoom() {
    return refuse("not_found", `No room ${this.roomName}`);
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
    this.sendWhere(text);
    return numbered;
  }

  /** Distinct users with an open socket. */
  private online(): HubSender[] {
    const users = new Map<string, HubSender>();
    for (const att of this.attachments()) users.set(att.user.id, att.user);
    return [...users.values()];
  }

  /** What the others hear of a join or leave: who, without the member list. */
  private presenceFrame(room: string, event: "join" | "leave", user: HubSender): HubFrame {
    const data: HubPresence = { event, user };
    return { type: "presence", room, data, ts: Date.now() };
  }

  private broadcast(frame: HubFrame, exceptConnId?: string): void {
    this.sendWhere(JSON.stringify(frame), undefined, exceptConnId);
  }
}
