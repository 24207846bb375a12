// Opening a hub socket from a request: who the client is (checked before any upgrade) and the hand-off of
// the upgrade to the object that will hold the socket.
import type { Context } from "hono";
import { db } from "../db/client";
import { authorize, bearerToken, type CredentialAccess, USER_BEARER_SCHEME } from "../identity/auth";
import { verifyAccessToken } from "../identity/jwt";
import { liveSessionUser } from "../identity/sessions";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { HubTicketHolder } from "./frames";
import { HUB_CONNECT_HEADER, HUB_PROTOCOL, HUB_PROTOCOL_PREFIX, type HubConnect } from "./rooms";
import { redeemHubTicket } from "./tickets";

export interface SocketIdentity {
  holder: HubTicketHolder;
  /** The subprotocol to answer: the client's own if it offered one beside the token, else HUB_PROTOCOL (never the token). */
  protocol?: string;
}

export function isWebSocketUpgrade(c: Context<AppEnv>): boolean {
  return (c.req.header("upgrade") ?? "").toLowerCase() === "websocket";
}

/**
 * Who opens a socket: an access token as the subprotocol `bearer.<token>`, a single-use ticket from the
 * query, or (clients that can set headers) `Authorization: Bearer`. None of them valid → 401.
 */
async function socketIdentity(c: Context<AppEnv>, ticket: string | undefined): Promise<SocketIdentity> {
  const offered = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const bearer = offered.find((p) => p.startsWith(HUB_PROTOCOL_PREFIX));
  const protocol = offered.find((p) => !p.startsWith(HUB_PROTOCOL_PREFIX)) ?? (bearer ? HUB_PROTOCOL : undefined);
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
 * rooms at once). The same check as a "session" route (src/lib/identity/auth.ts); docs/hub.md.
 */
async function liveHolder(c: Context<AppEnv>, holder: HubTicketHolder): Promise<HubTicketHolder> {
  const live = await liveSessionUser(db(c.env), holder.sid, holder.sub);
  if (!live) throw new ApiError("unauthorized", "Session revoked or user inactive");
  return { sub: live.id, sid: holder.sid, username: live.username, roles: live.roles };
}

/** The longest ticket accepted (they are much shorter): anything longer is refused without a lookup. */
const MAX_TICKET_LENGTH = 256;

/**
 * A hub socket's route (`auth: HUB_SOCKET`): a WebSocket upgrade proves itself by one of socketIdentity's three
 * ways, and the identity waits for the handler on the context (`hubSocket(c)`); a request without the upgrade needs
 * a signed-in user, as "user" does.
 */
export const HUB_SOCKET: CredentialAccess = {
  credential: "hub-socket",
  note:
    "A WebSocket upgrade authenticates with `Sec-WebSocket-Protocol: bearer.<access token>`, a single-use " +
    "`?ticket=` (POST /v1/hub/tickets) or `Authorization: Bearer <access token>`; a request without the upgrade " +
    "requires a signed-in user with a live session.",
  schemes: { ...USER_BEARER_SCHEME, hubTicket: { type: "apiKey", in: "query", name: "ticket" } },
  async verify(c) {
    if (!isWebSocketUpgrade(c)) {
      // Room stats: the live session and current roles, as the upgrade below.
      await authorize(c, "session");
      return;
    }
    const ticket = c.req.query("ticket");
    if (ticket !== undefined && ticket.length > MAX_TICKET_LENGTH) {
      throw new ApiError("unauthorized", "The ticket is unknown, expired or already used");
    }
    c.set("hubSocket", await socketIdentity(c, ticket || undefined));
  },
};

/** Who opens the socket, on an upgrade to a route declared with `auth: HUB_SOCKET`. */
export function hubSocket(c: Context<AppEnv>): SocketIdentity {
  const identity = c.get("hubSocket");
  if (!identity) throw new Error("hubSocket() outside an upgrade to a route declared with auth: HUB_SOCKET");
  return identity;
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
