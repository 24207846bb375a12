// Analytics (docs/analytics.md): POST /v1/events (batched, through the EVENTS queue), GET /v1/analytics/summary
// (admins: everyone or one user; users: their own slice), GET /metrics (Prometheus text, scope metrics.read).
import { z } from "zod";
import { EVENT_LIMITS, EventsBody, stampEvents } from "../src/lib/analytics/events";
import { prometheusText } from "../src/lib/analytics/prometheus";
import { analyticsReader } from "../src/lib/analytics/reader";
import { Bucket, Summary } from "../src/lib/analytics/summary";
import { db } from "../src/lib/db/client";
import { principal } from "../src/lib/identity/auth";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";

export const eventsService = new ApiRouter("analytics").route(
  {
    method: "post",
    path: "/",
    auth: { scope: "events.write", orRole: "user" },
    summary: `Record up to ${EVENT_LIMITS.eventsPerBatch} analytics events (stored after the answer, through a queue)`,
    body: EventsBody,
    bodyLimit: EVENT_LIMITS.bodyBytes,
    responses: {
      202: { description: "Accepted", schema: z.object({ accepted: z.number().int() }) },
      400: { description: "A malformed event, or one dated outside the accepted window" },
    },
  },
  async (c, { body }) => {
    const service = c.get("service");
    const sender = service
      ? { userId: null, credentialId: service.id }
      : { userId: principal(c).sub, credentialId: null };
    const { events, badIndexes } = stampEvents(body.events, sender);
    if (badIndexes.length > 0) {
      const message = "at must be within the last 7 days and at most 5 minutes ahead";
      throw new ApiError("invalid_request", "Some events are dated outside the accepted window", {
        issues: badIndexes.map((i) => ({ path: ["body", "events", i, "at"], code: "out_of_range", message })),
      });
    }
    await c.env.EVENTS.send({ kind: "analytics.events", events });
    return c.json({ accepted: events.length }, 202);
  },
);

export const analyticsService = new ApiRouter("analytics").route(
  {
    method: "get",
    path: "/summary",
    auth: "session",
    summary: "Requests, error rate, p50/p95 per route, active users, jobs, events and LLM tokens over [from, to)",
    description: "Admins see everyone (or `userId`'s slice); anyone else sees only their own requests and events.",
    query: z.object({
      from: z.iso.datetime({ offset: true }).optional().describe("Default: 24 hours before `to`"),
      to: z.iso.datetime({ offset: true }).optional().describe("Default: now"),
      bucket: Bucket.default("hour"),
      userId: z.uuid().optional().describe("Admins only: one user's slice"),
    }),
    responses: { 200: { description: "The summary", schema: Summary } },
  },
  async (c, { query }) => {
    const me = principal(c);
    const isAdmin = me.roles.includes("admin");
    if (query.userId && !isAdmin && query.userId !== me.sub) {
      throw new ApiError("forbidden", "Only admins may read another user's analytics");
    }
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * 3600 * 1000);
    const userId = isAdmin ? query.userId : me.sub;
    return c.json(await analyticsReader(c.env).summary({ from, to, bucket: query.bucket }, userId));
  },
);

export const metricsService = new ApiRouter("analytics").route(
  {
    method: "get",
    path: "/metrics",
    auth: { scope: "metrics.read", orRole: "admin" },
    rateLimit: false,
    summary: "The platform's counters in the Prometheus text format",
    responses: { 200: { description: "Prometheus text (version 0.0.4)", contentType: "text/plain" } },
  },
  async (c) =>
    c.body(await prometheusText(db(c.env)), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
);
