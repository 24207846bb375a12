// One object per user (getByName(userId)): the user's open hub sockets across every room, so that
// HUB_MAX_CONNECTIONS_PER_USER holds across rooms, not per room. Each row is a socket id with the room that
// holds it; rooms add rows before accepting a socket and delete them on close. Nothing depends on a room
// reporting every close: at the limit the object asks each room which of its rows are still open sockets.
import { DurableObject } from "cloudflare:workers";
import { openSockets } from "../src/lib/hub/connections";
import { type Env, getConfig } from "../src/lib/platform/env";
import { ok, type Refusable, refuse } from "../src/lib/platform/refusal";
import { migrateSqlite } from "./sqlite-migrations";

/**
 * A row younger than this is never pruned: its room may have registered it and not yet accepted the socket,
 * so the room would not (yet) confirm it.
 */
export const HUB_REGISTER_GRACE_MS = 10_000;

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  "CREATE TABLE IF NOT EXISTS sockets (conn_id TEXT PRIMARY KEY, holder TEXT NOT NULL, opened_at INTEGER NOT NULL)",
];

export class HubConnections extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  async register(userId: string, holder: string, connId: string): Promise<Refusable<void>> {
    const limit = getConfig(this.env).hub.maxConnectionsPerUser;
    if (this.count() >= limit) await this.prune(userId);
    // Synchronous from the count to the insert: two registrations cannot both take the last place.
    if (this.count() >= limit) {
      return refuse("rate_limited", `At most ${limit} hub connections per user, across all rooms`, { retryAfter: 5 });
    }
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO sockets (conn_id, holder, opened_at) VALUES (?, ?, ?)",
      connId,
      holder,
      Date.now(),
    );
    return ok(undefined);
  }

  release(connId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM sockets WHERE conn_id = ?", connId);
  }

  private count(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sockets").one().n;
  }

  /** Deletes the rows (past the grace period) whose room no longer has that socket open. */
  private async prune(userId: string): Promise<void> {
    const cutoff = Date.now() - HUB_REGISTER_GRACE_MS;
    const rows = this.ctx.storage.sql
      .exec<{ conn_id: string; holder: string }>("SELECT conn_id, holder FROM sockets WHERE opened_at <= ?", cutoff)
      .toArray();
    const byHolder = new Map<string, string[]>();
    for (const r of rows) byHolder.set(r.holder, [...(byHolder.get(r.holder) ?? []), r.conn_id]);
    await Promise.all(
      [...byHolder].map(async ([holder, held]) => {
        let open: Set<string>;
        try {
          open = new Set(await openSockets(this.env, holder, userId));
        } catch {
          return; // the room did not answer: keep its rows rather than let the user past the limit
        }
        for (const connId of held) {
          if (!open.has(connId)) this.ctx.storage.sql.exec("DELETE FROM sockets WHERE conn_id = ?", connId);
        }
      }),
    );
  }
}
