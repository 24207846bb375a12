// The kinds of notification Tessera knows, and the event a producer hands to notify() (docs/notifications.md).
import { z } from "zod";

/**
 * Every notification kind. Platform kinds are raised by Tessera's own code through notify(); a feature adds its
 * kind here (and to docs/notifications.md). `service.message` is what services and admins post by default.
 */
const NOTIFICATION_KINDS = [
  "job.completed",
  "job.dead",
  "file.indexed",
  "login.new_address",
  "search.finished",
  "budget.nearly_spent",
  "service.message",
] as const;

const NotificationKind = z.enum(NOTIFICATION_KINDS);

/** Preferences may name one kind, or "*" for every kind without its own entry. */
export const PreferenceKind = z.union([NotificationKind, z.literal("*")]);
export type PreferenceKind = z.infer<typeof PreferenceKind>;

/** Limits on one notification (docs/notifications.md). */
export const NOTIFICATION_LIMITS = {
  eventIdChars: 128,
  titleChars: 200,
  bodyChars: 4000,
  /** The serialised `data` object. */
  dataBytes: 8192,
  pageSize: 50,
  maxPageSize: 200,
} as const;

const dataWithinLimit = (data: Record<string, unknown>) =>
  new TextEncoder().encode(JSON.stringify(data)).byteLength <= NOTIFICATION_LIMITS.dataBytes;

/** What a producer says happened. `id` is the event's idempotency key: the same id for the same user is one entry. */
export const NotificationEvent = z
  .object({
    id: z
      .string()
      .min(1)
      .max(NOTIFICATION_LIMITS.eventIdChars)
      .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits and . _ : - only"),
    userId: z.uuid(),
    kind: NotificationKind,
    title: z.string().trim().min(1).max(NOTIFICATION_LIMITS.titleChars),
    body: z.string().max(NOTIFICATION_LIMITS.bodyChars).default(""),
    data: z
      .record(z.string(), z.unknown())
      .default({})
      .refine(dataWithinLimit, `data is at most ${NOTIFICATION_LIMITS.dataBytes} bytes as JSON`),
  })
  .strict();
export type NotificationEvent = z.input<typeof NotificationEvent>;

/** A notification as its user (and its webhook) sees it. */
export const NotificationView = z.object({
  id: z.string(),
  eventId: z.string(),
  source: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()),
  read: z.boolean(),
  createdAt: z.string().describe("RFC 3339"),
});
export type NotificationView = z.infer<typeof NotificationView>;
