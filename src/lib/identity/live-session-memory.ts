// What this isolate last learned about a session's liveness, for "user" routes only (docs/security.md "Live
// sessions"). Every signed-in route must refuse a deleted, deactivated or signed-out user; asking the database on
// every request made a KV read cost a database round trip (a trip to Neon in production). A session found live is
// believed for SESSION_MEMORY_MS in this isolate; "session" and role routes, hub upgrades and tickets always ask
// the database. A revocation, deactivation or deletion made through this isolate forgets at once; other isolates
// notice within SESSION_MEMORY_MS.
import type { PublicUser } from "./users";

/** How long a live session is believed without asking again. */
export const SESSION_MEMORY_MS = 5_000;
/** Sessions remembered at most; the oldest entry goes first (a Map keeps insertion order). */
const MAX_ENTRIES = 10_000;

const live = new Map<string, { user: PublicUser; until: number }>();

/** The user behind `sid` if this isolate found it live less than SESSION_MEMORY_MS ago (and it is `sub`'s). */
export function recallLiveSession(sid: string, sub: string, now = Date.now()): PublicUser | undefined {
  const entry = live.get(sid);
  if (!entry) return undefined;
  if (entry.until <= now || entry.user.id !== sub) {
    live.delete(sid);
    return undefined;
  }
  return entry.user;
}

export function rememberLiveSession(sid: string, user: PublicUser, now = Date.now()): void {
  live.delete(sid);
  if (live.size >= MAX_ENTRIES) {
    const oldest = live.keys().next().value;
    if (oldest !== undefined) live.delete(oldest);
  }
  live.set(sid, { user, until: now + SESSION_MEMORY_MS });
}

export function forgetSession(sid: string): void {
  live.delete(sid);
}

/** Forgets every session of a user: deactivated, deleted, or signed out everywhere. */
export function forgetUserSessions(userId: string): void {
  for (const [sid, entry] of live) if (entry.user.id === userId) live.delete(sid);
}
