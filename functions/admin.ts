// /v1/admin: what the admin console (docs/admin.md) needs beyond the other services' admin routes: a user's
// sessions and revoking one, and the hub's rooms. Role admin, checked against the live session on every call.
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { HUB_DIRECTORY_LIST_LIMIT, HubRoomSummary, hubDirectory } from "../src/lib/hub/directory";
import { adminRevokeSession, listUserSessions } from "../src/lib/identity/sessions";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";

const ADMIN = { role: "admin" } as const;

const SessionSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedReason: z.string().nullable(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  live: z.boolean(),
});

export const adminConsoleService = new ApiRouter("admin")
  .route(
    {
      method: "get",
      path: "/users/:id/sessions",
      auth: ADMIN,
      summary: "A user's sessions, newest first (100 at most), live and ended, with address and user agent",
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: "Sessions", schema: z.object({ sessions: z.array(SessionSchema) }) },
        404: { description: "No such user" },
      },
    },
    async (c, { params }) => c.json({ sessions: await listUserSessions(db(c.env), params.id) }),
  )
  .route(
    {
      method: "delete",
      path: "/sessions/:id",
      auth: ADMIN,
      summary: "End one session: its refresh token stops working, and routes that check the live session refuse it",
      params: z.object({ id: z.uuid() }),
      responses: {
        204: { description: "Revoked" },
        404: { description: "No such session" },
        409: { description: "The session had already ended" },
      },
    },
    async (c, { params }) => {
      const result = await adminRevokeSession(db(c.env), params.id);
      if (result === "not_found") throw new ApiError("not_found", "Session not found");
      if (result === "already") throw new ApiError("conflict", "The session was already revoked");
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "get",
      path: "/hub/rooms",
      auth: ADMIN,
      summary: "The hub's rooms with someone online, and every members-only room, busiest first",
      description: `At most ${HUB_DIRECTORY_LIST_LIMIT}. Rooms report themselves on each join, leave, create and delete.`,
      responses: {
        200: {
          description: "Rooms",
          schema: z.object({ rooms: z.array(HubRoomSummary.extend({ updatedAt: z.string() })) }),
        },
      },
    },
    async (c) => c.json({ rooms: await hubDirectory(c.env).list(HUB_DIRECTORY_LIST_LIMIT) }),
  );
