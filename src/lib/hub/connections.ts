// Connections per user across every room (HUB_MAX_CONNECTIONS_PER_USER): a room registers each socket with
// the user's HubConnections object before accepting it and releases it on close. The count heals itself: a
// room that died without reporting its closes is asked, at the limit, which of its sockets are still open.
import type { Env } from "../platform/env";
import type { Refusable } from "../platform/refusal";
import { roomStub } from "./rooms";

/** Where the old hub's (/ws) sockets are registered: not a room name (those have no "/"). */
export const LEGACY_HUB_HOLDER = "legacy:/ws";

/** The one object of the old hub's protocol on /ws: everyone shares it, as everyone shared the old process. */
export function legacyHubStub(env: Env) {
  return env.LEGACY_HUB.getByName("legacy");
}

function userCounter(env: Env, userId: string) {
  return env.HUB_CONNECTIONS.getByName(userId);
}

/** Counts a socket that `holder` (a room, or LEGACY_HUB_HOLDER) is about to accept; refused (429) at the limit. */
export function registerSocket(env: Env, userId: string, holder: string, connId: string): Promise<Refusable<void>> {
  return userCounter(env, userId).register(userId, holder, connId);
}

/** Stops counting a socket; never throws (a lost release is healed at the limit). */
export async function releaseSocket(env: Env, userId: string, connId: string): Promise<void> {
  try {
    await userCounter(env, userId).release(connId);
  } catch {
    // healed later: the room will not confirm the socket
  }
}

/** The ids of the user's sockets that `holder` still has open (the question the counter asks when it heals). */
export function openSockets(env: Env, holder: string, userId: string): Promise<string[]> {
  if (holder === LEGACY_HUB_HOLDER) {
    return legacyHubStub(env).openSockets(userId);
  }
  return roomStub(env, holder).openSockets(userId);
}
