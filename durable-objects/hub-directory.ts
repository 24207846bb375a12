// One object for the whole hub (idFromName("directory")): which rooms exist now, for the admin console's room list
// (GET /v1/admin/hub/rooms, docs/admin.md). A room reports itself after every join, leave, create and delete; a row
// is dropped when its room has nobody online and no owner. Reports are best effort (a lost one is corrected by the
// room's next), so the list is a view for operators, never a source of truth for access.
import { DurableObject } from "cloudflare:workers";
import type { HubRoomSummary } from "../src/lib/hub/directory";
import type { Env } from "../src/lib/platform/env";
import { migrateSqlite } from "./sqlite-migrations";

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `CREATE TABLE rooms (room TEXT PRIMARY KEY, online INTEGER NOT NULL, sockets INTEGER NOT NULL,
     owner TEXT, members INTEGER NOT NULL, last_seq INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
];

export class HubDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  report(room: HubRoomSummary): void {
    if (room.online === 0 && room.owner === null) {
      this.ctx.storage.sql.exec("DELETE FROM rooms WHERE room = ?", room.room);
      return;
    }
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO rooms (room, online, sockets, owner, members, last_seq, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      room.room,
      room.online,
      room.sockets,
      room.owner,
      room.members,
      room.lastSeq,
      Date.now(),
    );
  }

  /** The busiest rooms first. */
  list(limit: number): (HubRoomSummary & { updatedAt: string })[] {
    return this.ctx.storage.sql
      .exec<{
        room: string;
        online: number;
        sockets: number;
        owner: string | null;
        members: number;
        last_seq: number;
        updated_at: number;
      }>("SELECT * FROM rooms ORDER BY online DESC, updated_at DESC LIMIT ?", limit)
      .toArray()
      .map((r) => ({
        room: r.room,
        online: r.online,
        sockets: r.sockets,
        owner: r.owner,
        members: r.members,
        lastSeq: r.last_seq,
        updatedAt: new Date(r.updated_at).toISOString(),
      }));
  }
}
