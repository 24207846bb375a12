// Opening a hub socket from a request: who the client is (checked before any upgrade) and the hand-off of
// the upgrade to the object that will hold the socket.
import type { Context } from "hono";
import { db } from "../db/client";
import { bearerToken } from "../identity/auth";
import { verifyAccessToken } from "../identity/jwt";
import { liveSessionUser } from "../identity/sessions";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { HubTicketHolder } from "./frames";
import { HUB_CONNECT_HEADER, HUB_PROTOCOL_PREFIX, type HubConnect } from "./rooms";
import { redeemHubTicket } from "./tickets";

export interface SocketIdentity {
  holder: HubTicketHolder;
  /** The subprotocol to echo: the client's own if it offered one beside the token, else the token's. */
  protocol?: string;
}

export function isWebSocketUpgrade(c: Context<AppEnv>): boolean {
  return (c.req.header("upgrade") ?? "").toLowerCase() === "websocket";
}

/**
 * Who opens a socket: an access token as the subprotocol `bearer.<token>`, a single-use ticket from the
 * query, or (clients that can set headers) `Authorization: Bearer`. None of them valid → 401.
 */
export async function socketIdentity(c: Context<AppEnv>, ticket: string | undefined): Promise<SocketIdentity> {
  const offered = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const bearer = offered.find((p) => p.startsWith(HUB_PROTOCOL_PREFIX));
  const protocol = offered.find((p) => !p.startsWith(HUB_PROTOCOL_PREFIX)) ?? bearer;
  const token = bearer ? bearer.slice(HUB_PROTOCOL_PREFIX.length) : bearerToken(c);
  if (token) {
    const claims = await verifyAccessToken(c.env, token);
    const holder = await liveHolder(c, { sub: claims.sub, sid: claims.sid, username: claims.username, roles: [] });
    c.set("principal", { ...claims, roles: holder.roles, username: holder.username });
    return { holder, protocol };
  }
  if (ticket) {
    const holder = await redeemHubTicket(c.env, ticket);
    if (!holder) throw new ApiError("unauthorized", "The ticket is unknown, expired or already used");
    return { holder: await liveHolder(c, holder), protocol };
  }
  throw new ApiError("unauthorized", "Send an access token as the subprotocol 'bearer.<token>' or a ticket", {
    headers: { "WWW-Authenticate": "Bearer" },
  });
}

/**
 * The holder as the database knows them now: the session must be live and the user active (401 otherwise), and the
 * roles are the current ones, never those a token or ticket was issued with (a demoted user loses members-only
 * rooms at once). The same check as a "session" route (src/lib/identity/auth.ts).
 */
async function liveHolder(c: Context<AppEnv>, holder: HubTicketHolder): Promise<HubTicketHolder> {
  const live = await liveSessionUser(db(c.env), holder.sid, holder.sub);
  if (!live) throw new ApiError("unauthorized", "Session revoked or user inactive");
  return { sub: live.id, sid: holder.sid, username: live.username, roles: live.roles };
}

/** Hands the upgrade to the object with what it needs to know; its 101 (or refusal) goes back as it is. */
export function forwardUpgrade(
  c: Context<AppEnv>,
  stub: { fetch(request: Request): Promise<Response> },
  connect: HubConnect,
): Promise<Response> {
  const headers = new Headers({ upgrade: "websocket", [HUB_CONNECT_HEADER]: JSON.stringify(connect) });
  return stub.fetch(new Request(c.req.url, { headers }));
}
