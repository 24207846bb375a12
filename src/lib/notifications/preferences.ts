// Per-user notification preferences: for each kind (or "*"), inbox, live and webhook on or off, and mute.
import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { notificationPreferences } from "../db/schema";
import { PreferenceKind } from "./kinds";

const Channels = z.object({
  inbox: z.boolean(),
  live: z.boolean(),
  webhook: z.boolean(),
  muted: z.boolean(),
});
type Channels = z.infer<typeof Channels>;

/** With no preference at all, every channel is on. */
const DEFAULT_CHANNELS: Channels = { inbox: true, live: true, webhook: true, muted: false };

export const Preference = Channels.extend({ kind: PreferenceKind });
export type Preference = z.infer<typeof Preference>;

/** Where one event of `kind` goes for `userId`: its own row, else the "*" row, else everything; mute wins. */
export async function channelsFor(database: HttpDb, userId: string, kind: string): Promise<Channels> {
  return channelsFrom(await channelRows(database, userId, kind), kind);
}

/** The preference rows channelsFor reads, to run alone or in a batch (then channelsFrom). */
export function channelRows(database: HttpDb, userId: string, kind: string) {
  return database
    .select()
    .from(notificationPreferences)
    .where(and(eq(notificationPreferences.userId, userId), inArray(notificationPreferences.kind, [kind, "*"])));
}

export function channelsFrom(rows: (typeof notificationPreferences.$inferSelect)[], kind: string): Channels {
  const row = rows.find((r) => r.kind === kind) ?? rows.find((r) => r.kind === "*");
  if (!row) return DEFAULT_CHANNELS;
  if (row.muted) return { inbox: false, live: false, webhook: false, muted: true };
  return { inbox: row.inbox, live: row.live, webhook: row.webhook, muted: false };
}

function preferencesOf(database: HttpDb, userId: string) {
  return database
    .select()
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId))
    .orderBy(notificationPreferences.kind);
}

function toPreferences(rows: (typeof notificationPreferences.$inferSelect)[]): Preference[] {
  return rows.map((r) => ({
    kind: r.kind as PreferenceKind,
    inbox: r.inbox,
    live: r.live,
    webhook: r.webhook,
    muted: r.muted,
  }));
}

export async function listPreferences(database: HttpDb, userId: string): Promise<Preference[]> {
  return toPreferences(await preferencesOf(database, userId));
}

/** The value an upsert proposed for `column` (Postgres `excluded.<column>`). */
const excluded = (column: string) => sql.raw(`excluded.${column}`);

/**
 * Sets the preferences for the kinds given (others unchanged) and answers every preference now: the upsert and the
 * read in one batch, one round trip (docs/benchmarks.md "Round trips per route (issue #16)").
 */
export async function setPreferences(database: HttpDb, userId: string, prefs: Preference[]): Promise<Preference[]> {
  if (prefs.length === 0) return listPreferences(database, userId);
  const now = new Date();
  const upsert = database
    .insert(notificationPreferences)
    .values(prefs.map((p) => ({ userId, ...p, updatedAt: now })))
    .onConflictDoUpdate({
      target: [notificationPreferences.userId, notificationPreferences.kind],
      set: {
        inbox: excluded("inbox"),
        live: excluded("live"),
        webhook: excluded("webhook"),
        muted: excluded("muted"),
        updatedAt: now,
      },
    });
  const [, rows] = await database.batch([upsert, preferencesOf(database, userId)]);
  return toPreferences(rows);
}
