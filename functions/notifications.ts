// /v1/notifications: a user's inbox, preferences and webhook endpoints; services (scope notifications.publish) and
// admins post notifications. /v1/admin/webhook-deliveries: the deliveries seen whole, and retrying a dead one.
import type { Context } from "hono";
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { principal } from "../src/lib/identity/auth";
import { listInbox, markAllRead, removeEntry, setRead } from "../src/lib/notifications/inbox";
import { NOTIFICATION_LIMITS, NotificationEvent, NotificationView } from "../src/lib/notifications/kinds";
import { notify } from "../src/lib/notifications/notify";
import { webhookUrlProblem } from "../src/lib/notifications/outbound";
import { listPreferences, Preference, setPreferences } from "../src/lib/notifications/preferences";
import {
  countEndpoints,
  createEndpoint,
  DeliveryView,
  deleteEndpoint,
  type EndpointOwner,
  listDeliveries,
  listEndpoints,
  MAX_ENDPOINTS_PER_USER,
  retryDelivery,
  WebhookEndpointView,
} from "../src/lib/notifications/webhooks";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";

const IdParams = z.object({ id: z.uuid() });
const EndpointParams = z.object({ id: z.string().regex(/^whep_[0-9a-f]{32}$/) });
const DeliveryParams = z.object({ id: z.string().regex(/^msg_[0-9a-f]{32}$/) });
const InboxPage = z.object({
  notifications: z.array(NotificationView),
  nextCursor: z.string().nullable(),
  unread: z.number().int(),
  total: z.number().int(),
});

const notFound = () => new ApiError("not_found", "Notification not found");

const EndpointBody = z
  .object({
    url: z.string().max(2048),
    kinds: z.array(NotificationEvent.shape.kind).min(1).max(20).optional().describe("Default: every kind"),
  })
  .strict();
const EndpointCreated = {
  201: { description: "The endpoint and its secret", schema: WebhookEndpointView.extend({ secret: z.string() }) },
  409: { description: `Already ${MAX_ENDPOINTS_PER_USER} endpoints` },
};

/** A user's or a credential's new endpoint: the URL checked as every outgoing URL is, the count capped. */
async function addEndpoint(c: Context<AppEnv>, owner: EndpointOwner, body: z.output<typeof EndpointBody>) {
  const problem = webhookUrlProblem(body.url, c.get("config").webhooks.allowPrivate);
  if (problem) {
    throw new ApiError("invalid_request", problem, {
      issues: [{ path: ["body", "url"], code: "invalid_url", message: problem }],
    });
  }
  const database = db(c.env);
  if ((await countEndpoints(database, owner)) >= MAX_ENDPOINTS_PER_USER) {
    throw new ApiError("conflict", `At most ${MAX_ENDPOINTS_PER_USER} webhook endpoints per owner`);
  }
  return createEndpoint(database, owner, body.url, body.kinds ?? null);
}

/** The calling service credential as an endpoint owner (the route's access admits credentials only). */
function credentialOwner(c: Context<AppEnv>): EndpointOwner {
  const service = c.get("service");
  if (!service) throw new ApiError("forbidden", "A service credential is required");
  return { credentialId: service.id };
}

export const notificationsService = new ApiRouter("notifications")
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Your inbox, newest first, with the unread and total counts",
      query: z.object({
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(NOTIFICATION_LIMITS.maxPageSize)
          .default(NOTIFICATION_LIMITS.pageSize),
        cursor: z.string().max(512).optional(),
        unread: z.enum(["true", "false"]).optional().describe("true: unread entries only"),
      }),
      responses: { 200: { description: "A page; pass nextCursor as cursor for the next", schema: InboxPage } },
    },
    async (c, { query }) =>
      c.json(
        await listInbox(db(c.env), principal(c).sub, {
          limit: query.limit,
          cursor: query.cursor,
          unreadOnly: query.unread === "true",
        }),
      ),
  )
  .route(
    {
      method: "post",
      path: "/",
      auth: { scope: "notifications.publish", orRole: "admin" },
      summary: "Notify a user (a service with notifications.publish, or an admin); the id makes a retry harmless",
      body: NotificationEvent.extend({ kind: NotificationEvent.shape.kind.default("service.message") }),
      responses: {
        201: { description: "Recorded and delivered", schema: z.object({ notification: NotificationView.nullable() }) },
        200: {
          description: "This id was already recorded: nothing sent again",
          schema: z.object({ notification: NotificationView.nullable() }),
        },
        404: { description: "No such user" },
      },
    },
    async (c, { body }) => {
      const source = c.get("service")?.id ?? "admin";
      const result = await notify(c.env, c.executionCtx, body, source, { userMayBeMissing: true });
      return c.json({ notification: result.notification }, result.created ? 201 : 200);
    },
  )
  .route(
    {
      method: "post",
      path: "/read-all",
      auth: "user",
      summary: "Mark every entry read",
      responses: { 200: { description: "How many changed", schema: z.object({ updated: z.number().int() }) } },
    },
    async (c) => c.json({ updated: await markAllRead(db(c.env), principal(c).sub) }),
  )
  .route(
    {
      method: "get",
      path: "/preferences",
      auth: "user",
      summary: "Your preferences per kind ('*' for every kind without its own); unlisted kinds use every channel",
      responses: { 200: { description: "Preferences", schema: z.object({ preferences: z.array(Preference) }) } },
    },
    async (c) => c.json({ preferences: await listPreferences(db(c.env), principal(c).sub) }),
  )
  .route(
    {
      method: "put",
      path: "/preferences",
      auth: "user",
      summary: "Set preferences for the kinds listed (others unchanged)",
      body: z.object({ preferences: z.array(Preference).min(1).max(50) }).strict(),
      responses: {
        200: { description: "Every preference now", schema: z.object({ preferences: z.array(Preference) }) },
      },
    },
    async (c, { body }) => c.json({ preferences: await setPreferences(db(c.env), principal(c).sub, body.preferences) }),
  )
  .route(
    {
      method: "get",
      path: "/webhooks",
      auth: "user",
      summary: "Your webhook endpoints",
      responses: { 200: { description: "Endpoints", schema: z.object({ webhooks: z.array(WebhookEndpointView) }) } },
    },
    async (c) => c.json({ webhooks: await listEndpoints(db(c.env), { userId: principal(c).sub }) }),
  )
  .route(
    {
      method: "post",
      path: "/webhooks",
      auth: "session",
      summary: "Add a webhook endpoint; its whsec_ signing secret is shown once",
      body: EndpointBody,
      responses: EndpointCreated,
    },
    async (c, { body }) => c.json(await addEndpoint(c, { userId: principal(c).sub }, body), 201),
  )
  .route(
    {
      method: "delete",
      path: "/webhooks/:id",
      auth: "user",
      summary: "Remove a webhook endpoint (its pending deliveries stop)",
      params: EndpointParams,
      responses: { 204: { description: "Removed" }, 404: { description: "No such endpoint of yours" } },
    },
    async (c, { params }) => {
      if (!(await deleteEndpoint(db(c.env), { userId: principal(c).sub }, params.id))) {
        throw new ApiError("not_found", "Webhook endpoint not found");
      }
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "get",
      path: "/service-webhooks",
      auth: { scope: "notifications.publish" },
      summary: "A service credential's own webhook endpoints (the notifications it raised)",
      responses: { 200: { description: "Endpoints", schema: z.object({ webhooks: z.array(WebhookEndpointView) }) } },
    },
    async (c) => c.json({ webhooks: await listEndpoints(db(c.env), credentialOwner(c)) }),
  )
  .route(
    {
      method: "post",
      path: "/service-webhooks",
      auth: { scope: "notifications.publish" },
      summary: "Add a webhook endpoint for the notifications this credential raises; its secret is shown once",
      body: EndpointBody,
      responses: EndpointCreated,
    },
    async (c, { body }) => c.json(await addEndpoint(c, credentialOwner(c), body), 201),
  )
  .route(
    {
      method: "delete",
      path: "/service-webhooks/:id",
      auth: { scope: "notifications.publish" },
      summary: "Remove one of this credential's webhook endpoints",
      params: EndpointParams,
      responses: { 204: { description: "Removed" }, 404: { description: "No such endpoint of this credential" } },
    },
    async (c, { params }) => {
      if (!(await deleteEndpoint(db(c.env), credentialOwner(c), params.id))) {
        throw new ApiError("not_found", "Webhook endpoint not found");
      }
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "patch",
      path: "/:id",
      auth: "user",
      summary: "Mark an entry read or unread",
      params: IdParams,
      body: z.object({ read: z.boolean() }).strict(),
      responses: { 200: { description: "The entry", schema: NotificationView }, 404: { description: "Not yours" } },
    },
    async (c, { params, body }) => {
      const view = await setRead(db(c.env), principal(c).sub, params.id, body.read);
      if (!view) throw notFound();
      return c.json(view);
    },
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Delete an entry",
      params: IdParams,
      responses: { 204: { description: "Deleted" }, 404: { description: "Not yours" } },
    },
    async (c, { params }) => {
      if (!(await removeEntry(db(c.env), principal(c).sub, params.id))) throw notFound();
      return c.body(null, 204);
    },
  );

export const webhookAdminService = new ApiRouter("admin-webhooks")
  .route(
    {
      method: "get",
      path: "/webhook-deliveries",
      auth: { role: "admin" },
      summary: "Webhook deliveries, newest first; status=dead lists the dead-letter queue",
      query: z.object({
        status: z.enum(["pending", "delivered", "dead"]).optional(),
        userId: z.uuid().optional(),
        credentialId: z.string().max(64).optional().describe("A service credential's endpoints"),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      responses: { 200: { description: "Deliveries", schema: z.object({ deliveries: z.array(DeliveryView) }) } },
    },
    async (c, { query }) => c.json({ deliveries: await listDeliveries(db(c.env), query) }),
  )
  .route(
    {
      method: "post",
      path: "/webhook-deliveries/:id/retry",
      auth: { role: "admin" },
      summary: "Send a dead delivery again, with fresh attempts",
      params: DeliveryParams,
      responses: { 202: { description: "Queued" }, 409: { description: "The delivery is not dead (or unknown)" } },
    },
    async (c, { params }) => {
      if (!(await retryDelivery(c.env, db(c.env), params.id))) {
        throw new ApiError("conflict", "Only a dead delivery can be retried");
      }
      return c.json({ queued: true }, 202);
    },
  );
