// Single-use WebSocket tickets (POST /v1/hub/tickets). A Durable Object, not KV: redeeming must be
// atomic (KV is eventually consistent, so a ticket read-then-deleted there could be used twice), and
// KV cannot expire anything sooner than 60 s anyway. Tickets are spread over a few objects by their hash.
import { DurableObject } from "cloudflare:workers";
import { HubTicketHolder } from "../src/lib/hub/frames";
import type { Env } from "../src/lib/platform/env";
import { migrateSqlite } from "./sqlite-migrations";

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  "CREATE TABLE IF NOT EXISTS tickets (hash TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)",
];

export class HubTickets extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  /** Stores a ticket's hash (never the ticket) for `ttlMs`; expired ones are swept here, so the table stays small. */
  issue(hash: string, holder: HubTicketHolder, ttlMs: number): void {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
    this.ctx.storage.sql.exec(
      "INSERT INTO tickets (hash, holder, expires_at) VALUES (?, ?, ?)",
      hash,
      JSON.stringify(holder),
      now + ttlMs,
    );
  }

  /** The ticket's user, once: the row is deleted in the same synchronous step that reads it. */
  redeem(hash: string): HubTicketHolder | null {
    const rows = this.ctx.storage.sql
      .exec<{ holder: string; expires_at: number }>(
        "DELETE FROM tickets WHERE hash = ? RETURNING holder, expires_at",
        hash,
      )
      .toArray();
    const row = rows[0];
    if (!row || row.expires_at <= Date.now()) return null;
    return HubTicketHolder.parse(JSON.parse(row.holder));
  }
}
