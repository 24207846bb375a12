// A user's inbox: pages newest first with unread counts, read/unread, delete (soft: see the schema), all read.
import { and, count, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { notifications } from "../db/schema";
import { decodeCursor, encodeCursor } from "../platform/cursor";
import type { NotificationView } from "./kinds";

type Row = typeof notifications.$inferSelect;

export function toView(row: Row): NotificationView {
  return {
    id: row.id,
    eventId: row.eventId,
    source: row.source,
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: row.data,
    read: row.readAt !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

const Cursor = z.tuple([z.iso.datetime(), z.uuid()]);

const visible = (userId: string) =>
  and(eq(notifications.userId, userId), eq(notifications.inInbox, true), isNull(notifications.deletedAt));

export interface InboxPage {
  notifications: NotificationView[];
  nextCursor: string | null;
  unread: number;
  total: number;
}

export async function listInbox(
  database: HttpDb,
  userId: string,
  options: { limit: number; cursor?: string; unreadOnly?: boolean },
): Promise<InboxPage> {
  const after = options.cursor ? decodeCursor(options.cursor, Cursor) : undefined;
  const conditions = [visible(userId)];
  if (options.unreadOnly) conditions.push(isNull(notifications.readAt));
  if (after) {
    const at = new Date(after[0]);
    conditions.push(
      or(lt(notifications.createdAt, at), and(eq(notifications.createdAt, at), lt(notifications.id, after[1]))),
    );
  }
  const [rows, counts] = await database.batch([
    database
      .select()
      .from(notifications)
      .where(and(...conditions))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(options.limit + 1),
    database
      .select({
        total: count(),
        unread: sql<number>`count(*) filter (where ${notifications.readAt} is null)`.mapWith(Number),
      })
      .from(notifications)
      .where(visible(userId)),
  ]);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    notifications: page.map(toView),
    nextCursor: rows.length > options.limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
    unread: counts[0]?.unread ?? 0,
    total: counts[0]?.total ?? 0,
  };
}

/** Marks one entry read or unread; null when the user has no such entry. */
export async function setRead(
  database: HttpDb,
  userId: string,
  id: string,
  read: boolean,
): Promise<NotificationView | null> {
  const [row] = await database
    .update(notifications)
    // Marking read again keeps the first read time.
    .set({ readAt: read ? sql`coalesce(${notifications.readAt}, now())` : null })
    .where(and(visible(userId), eq(notifications.id, id)))
    .returning();
  return row ? toView(row) : null;
}

export async function removeEntry(database: HttpDb, userId: string, id: string): Promise<boolean> {
  const rows = await database
    .update(notifications)
    .set({ deletedAt: new Date() })
    .where(and(visible(userId), eq(notifications.id, id)))
    .returning({ id: notifications.id });
  return rows.length > 0;
}

/** Marks every unread entry read; answers how many changed. */
export async function markAllRead(database: HttpDb, userId: string): Promise<number> {
  const rows = await database
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(visible(userId), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return rows.length;
}
