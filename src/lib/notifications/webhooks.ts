// Outgoing webhooks: a user's endpoints, one delivery row per notification and endpoint, sent through the WEBHOOKS
// queue with exponential backoff, dead after WEBHOOKS_MAX_ATTEMPTS, and an admin retry (docs/notifications.md).
import { and, arrayContains, desc, eq, isNull, or, sql } from "drizzle-orm";
import { z } from "zod";
import { db, type HttpDb } from "../db/client";
import { notifications, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { type Env, getConfig } from "../platform/env";
import { createLogger } from "../platform/log";
import { toView } from "./inbox";
import { postOutbound } from "./outbound";
import { newWebhookSecret, webhookHeaders } from "./signing";

export const WebhookMessage = z.object({ kind: z.literal("webhook.deliver"), deliveryId: z.string().min(1) });
export type WebhookMessage = z.infer<typeof WebhookMessage>;

/** At most this many endpoints per user, and per service credential (docs/notifications.md). */
export const MAX_ENDPOINTS_PER_USER = 10;
/** The longest wait between two attempts, in seconds. */
const MAX_BACKOFF_SECONDS = 3600;

/**
 * Whose endpoints: a user's (the notifications they receive, as their preferences allow) or a service credential's
 * (the notifications it raised itself, whoever received them).
 */
export type EndpointOwner = { userId: string } | { credentialId: string };

const ownedBy = (owner: EndpointOwner) =>
  "userId" in owner ? eq(webhookEndpoints.userId, owner.userId) : eq(webhookEndpoints.credentialId, owner.credentialId);

export const WebhookEndpointView = z.object({
  id: z.string(),
  url: z.string(),
  kinds: z.array(z.string()).nullable(),
  active: z.boolean(),
  createdAt: z.string(),
});
export type WebhookEndpointView = z.infer<typeof WebhookEndpointView>;

const endpointView = (row: typeof webhookEndpoints.$inferSelect): WebhookEndpointView => ({
  id: row.id,
  url: row.url,
  kinds: row.kinds,
  active: row.active,
  createdAt: row.createdAt.toISOString(),
});

export async function countEndpoints(database: HttpDb, owner: EndpointOwner): Promise<number> {
  const [row] = await database
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(webhookEndpoints)
    .where(ownedBy(owner));
  return row?.n ?? 0;
}

/** A new endpoint and its signing secret (returned here only; the lists never show it). */
export async function createEndpoint(
  database: HttpDb,
  owner: EndpointOwner,
  url: string,
  kinds: string[] | null,
): Promise<WebhookEndpointView & { secret: string }> {
  const secret = newWebhookSecret();
  const [row] = await database
    .insert(webhookEndpoints)
    .values({ id: `whep_${crypto.randomUUID().replaceAll("-", "")}`, ...owner, url, secret, kinds })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return { ...endpointView(row), secret };
}

export async function listEndpoints(database: HttpDb, owner: EndpointOwner): Promise<WebhookEndpointView[]> {
  const rows = await database.select().from(webhookEndpoints).where(ownedBy(owner)).orderBy(webhookEndpoints.createdAt);
  return rows.map(endpointView);
}

export async function deleteEndpoint(database: HttpDb, owner: EndpointOwner, id: string): Promise<boolean> {
  const rows = await database
    .delete(webhookEndpoints)
    .where(and(ownedBy(owner), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/**
 * Creates the deliveries of one notification (one per matching active endpoint) and queues the new ones: the
 * recipient's endpoints when `toUser` (their webhook switch for the kind), and the endpoints of the credential that
 * raised it (`source`). A second call for the same notification finds them existing and queues nothing: an event
 * retry never sends twice.
 */
export async function queueDeliveries(
  env: Env,
  database: HttpDb,
  notification: { id: string; userId: string; kind: string; source: string },
  toUser: boolean,
): Promise<number> {
  const owners = [
    ...(toUser ? [eq(webhookEndpoints.userId, notification.userId)] : []),
    // Only a credential's id can match: the platform's "tessera" and "admin" own no endpoint.
    eq(webhookEndpoints.credentialId, notification.source),
  ];
  const matching = and(
    or(...owners),
    eq(webhookEndpoints.active, true),
    or(isNull(webhookEndpoints.kinds), arrayContains(webhookEndpoints.kinds, [notification.kind])),
  );
  // The endpoints' SELECT and the deliveries' INSERT as one statement, one round trip (docs/benchmarks.md "Round
  // trips per route (issue #16)"). drizzle's insert().select() wants every column of the table, hence the SQL.
  const { rows: created } = await database.execute<{ id: string }>(sql`
    insert into ${webhookDeliveries} (id, endpoint_id, notification_id)
    select 'msg_' || replace(gen_random_uuid()::text, '-', ''), ${webhookEndpoints.id}, ${notification.id}
    from ${webhookEndpoints} where ${matching}
    on conflict do nothing
    returning id`);
  if (created.length > 0) {
    await env.WEBHOOKS.sendBatch(created.map((d) => ({ body: { kind: "webhook.deliver", deliveryId: d.id } })));
  }
  return created.length;
}

/** The Standard Webhooks payload: `{type, timestamp, data}` with the notification as its user sees it. */
function webhookPayload(row: typeof notifications.$inferSelect): string {
  return JSON.stringify({ type: row.kind, timestamp: row.createdAt.toISOString(), data: toView(row) });
}

type AttemptOutcome = "delivered" | "skipped" | { retry: true; error: string };

/** One attempt at one delivery. A delivery that is not pending (done, dead, gone) is skipped. */
async function attemptDelivery(env: Env, database: HttpDb, deliveryId: string): Promise<AttemptOutcome> {
  const [found] = await database
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, notification: notifications })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(notifications, eq(notifications.id, webhookDeliveries.notificationId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (found?.delivery.status !== "pending" || !found.endpoint.active) return "skipped";
  const config = getConfig(env).webhooks;
  const body = webhookPayload(found.notification);
  const result = await postOutbound(
    found.endpoint.url,
    await webhookHeaders(found.endpoint.secret, deliveryId, body),
    body,
    { allowPrivate: config.allowPrivate, timeoutMs: config.timeoutMs },
  );
  const now = new Date();
  await database
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastStatus: result.status,
      lastError: result.ok ? null : result.error,
      updatedAt: now,
      ...(result.ok ? { status: "delivered" as const, deliveredAt: now } : {}),
    })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
  return result.ok ? "delivered" : { retry: true, error: result.error };
}

async function markDead(database: HttpDb, deliveryId: string): Promise<void> {
  await database
    .update(webhookDeliveries)
    .set({ status: "dead", updatedAt: new Date() })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
}

/** Seconds before attempt `attempt + 1`: base · 2^(attempt − 1), capped. */
export function backoffSeconds(attempt: number, baseSeconds: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.max(0, attempt - 1));
}

/** The WEBHOOKS consumer: one attempt per message; failures come back after their backoff until dead. */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const log = createLogger("info", { queue: batch.queue });
  const config = getConfig(env).webhooks;
  const database = db(env);
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = WebhookMessage.safeParse(message.body);
      if (!parsed.success) {
        log.error("dropping invalid webhook message", { id: message.id });
        message.ack();
        return;
      }
      const { deliveryId } = parsed.data;
      try {
        const outcome = await attemptDelivery(env, database, deliveryId);
        if (outcome === "delivered" || outcome === "skipped") {
          message.ack();
        } else if (message.attempts >= config.maxAttempts) {
          await markDead(database, deliveryId);
          log.warn("webhook delivery dead", { deliveryId, attempts: message.attempts, error: outcome.error });
          message.ack();
        } else {
          message.retry({ delaySeconds: backoffSeconds(message.attempts, config.backoffBaseSeconds) });
        }
      } catch (err) {
        // Our own failure (the database): the platform's retries and dead-letter queue take over.
        log.warn("webhook attempt failed", { deliveryId, error: err instanceof Error ? err.message : String(err) });
        message.retry({ delaySeconds: backoffSeconds(message.attempts, config.backoffBaseSeconds) });
      }
    }),
  );
}

/** The dead-letter queue's consumer: what the platform gave up on is marked dead, so an admin can retry it. */
export async function consumeWebhookDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const database = db(env);
  for (const message of batch.messages) {
    const parsed = WebhookMessage.safeParse(message.body);
    if (parsed.success) await markDead(database, parsed.data.deliveryId);
    message.ack();
  }
}

export const DeliveryView = z.object({
  id: z.string(),
  endpointId: z.string(),
  url: z.string(),
  /** The endpoint's owner: a user, or a service credential. */
  userId: z.string().nullable(),
  credentialId: z.string().nullable(),
  notificationId: z.string(),
  kind: z.string(),
  status: z.enum(["pending", "delivered", "dead"]),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
export type DeliveryView = z.infer<typeof DeliveryView>;

/** Admin: the newest deliveries, optionally of one status or one user's (or credential's) endpoints. */
export async function listDeliveries(
  database: HttpDb,
  options: { status?: "pending" | "delivered" | "dead"; limit: number; userId?: string; credentialId?: string },
): Promise<DeliveryView[]> {
  const conditions = [];
  if (options.status) conditions.push(eq(webhookDeliveries.status, options.status));
  if (options.userId) conditions.push(eq(webhookEndpoints.userId, options.userId));
  if (options.credentialId) conditions.push(eq(webhookEndpoints.credentialId, options.credentialId));
  const rows = await database
    .select({ d: webhookDeliveries, e: webhookEndpoints, kind: notifications.kind })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(notifications, eq(notifications.id, webhookDeliveries.notificationId))
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(webhookDeliveries.createdAt))
    .limit(options.limit);
  return rows.map(({ d, e, kind }) => ({
    id: d.id,
    endpointId: d.endpointId,
    url: e.url,
    userId: e.userId,
    credentialId: e.credentialId,
    notificationId: d.notificationId,
    kind,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  }));
}

/** Admin: a dead delivery goes back to the queue with fresh attempts; false when it is not dead (or unknown). */
export async function retryDelivery(env: Env, database: HttpDb, deliveryId: string): Promise<boolean> {
  const rows = await database
    .update(webhookDeliveries)
    .set({ status: "pending", attempts: 0, updatedAt: new Date() })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "dead")))
    .returning({ id: webhookDeliveries.id });
  if (rows.length === 0) return false;
  await env.WEBHOOKS.send({ kind: "webhook.deliver", deliveryId });
  return true;
}
