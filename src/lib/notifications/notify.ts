// notify(env, ctx, event): the one way anything in Tessera tells a user something (docs/notifications.md).
// Preferences decide the channels; the (user, source, event id) key makes every step safe to repeat.
import { and, eq } from "drizzle-orm";
import { db, type HttpDb } from "../db/client";
import { notifications } from "../db/schema";
import { publishToUser } from "../hub/rooms";
import { foundUser, userById } from "../identity/users";
import type { Env } from "../platform/env";
import { toView } from "./inbox";
import { NotificationEvent, type NotificationView } from "./kinds";
import { channelRows, channelsFor, channelsFrom } from "./preferences";
import { queueDeliveries } from "./webhooks";

/**
 * channelsFor, with the user's row read in the same batch (one round trip): a 404 for a user id from outside, rather
 * than the notifications row's foreign-key error.
 */
async function channelsOfExistingUser(database: HttpDb, userId: string, kind: string) {
  const [user, rows] = await database.batch([userById(database, userId), channelRows(database, userId, kind)]);
  foundUser(user);
  return channelsFrom(rows, kind);
}

/** The hub event's `data.event` for a live notification on `user:<id>`. */
const LIVE_EVENT = "notification";

/** Who raised an event: "tessera" for the platform, a service credential's id (`svc_…`), or "admin". */
type NotificationSource = string;

interface NotifyResult {
  /** The entry, or null when the user's preferences turn every channel off for this kind. */
  notification: NotificationView | null;
  /** False when this event id had already been seen for this user and source (nothing was sent again). */
  created: boolean;
}

/**
 * Records and delivers one event: the inbox row (kept out of the inbox when the user turned that off), the live
 * event on the user's hub room, and queued webhooks. Repeating a call with the same event id changes nothing and
 * sends nothing again. Throws a ZodError for a malformed event (a programming error in the caller).
 */
export async function notify(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  input: NotificationEvent,
  source: NotificationSource = "tessera",
  options: { userMayBeMissing?: boolean } = {},
): Promise<NotifyResult> {
  const event = NotificationEvent.parse(input);
  const database = db(env);
  const channels = options.userMayBeMissing
    ? await channelsOfExistingUser(database, event.userId, event.kind)
    : await channelsFor(database, event.userId, event.kind);
  if (!channels.inbox && !channels.live && !channels.webhook) return { notification: null, created: false };
  const [inserted] = await database
    .insert(notifications)
    .values({
      userId: event.userId,
      source,
      eventId: event.id,
      kind: event.kind,
      title: event.title,
      body: event.body,
      data: event.data,
      inInbox: channels.inbox,
    })
    .onConflictDoNothing()
    .returning();
  const row =
    inserted ??
    (
      await database
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.userId, event.userId),
            eq(notifications.source, source),
            eq(notifications.eventId, event.id),
          ),
        )
    )[0];
  if (!row) throw new Error("notification vanished between insert and select");
  const view = toView(row);
  // Webhooks even on a repeat: a first call that failed before queueing them must not lose them (each delivery
  // row is unique per endpoint, so nothing is queued twice). The raising credential's own endpoints get it whatever
  // the recipient's webhook switch says (that switch is about the recipient's endpoints).
  await queueDeliveries(env, database, row, channels.webhook);
  if (inserted && channels.live) {
    // Best effort, after the answer: the inbox is the record, the hub a courtesy.
    ctx.waitUntil(
      publishToUser(env, event.userId, { id: row.id, data: { event: LIVE_EVENT, notification: view } }).catch(
        () => undefined,
      ),
    );
  }
  return { notification: row.inInbox ? view : null, created: inserted !== undefined };
}
