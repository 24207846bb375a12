// The per-isolate memory of live sessions that "user" routes believe (docs/security.md "Live sessions"): it
// answers only for the session's own user, only for SESSION_MEMORY_MS, and forgets at once when told.
import { describe, expect, it } from "vitest";
import {
  forgetSession,
  forgetUserSessions,
  recallLiveSession,
  rememberLiveSession,
  SESSION_MEMORY_MS,
} from "../../src/lib/identity/live-session-memory";
import type { PublicUser } from "../../src/lib/identity/users";

const user = (id: string) => ({ id, username: id, roles: ["user"] }) as unknown as PublicUser;

describe("live-session memory", () => {
  it("recalls a session for its own user until SESSION_MEMORY_MS has passed, then asks again", () => {
    const now = 1_000_000;
    rememberLiveSession("s1", user("u1"), now);
    expect(recallLiveSession("s1", "u1", now + SESSION_MEMORY_MS - 1)?.id).toBe("u1");
    expect(recallLiveSession("s1", "u1", now + SESSION_MEMORY_MS)).toBeUndefined();
    // Expired entries are dropped, not kept for later.
    expect(recallLiveSession("s1", "u1", now)).toBeUndefined();
  });

  it("never answers for another user's token naming the same session", () => {
    rememberLiveSession("s2", user("u2"));
    expect(recallLiveSession("s2", "someone-else")).toBeUndefined();
    expect(recallLiveSession("s2", "u2")).toBeUndefined();
  });

  it("forgets one session, or every session of a user, at once", () => {
    rememberLiveSession("a", user("u3"));
    rememberLiveSession("b", user("u3"));
    rememberLiveSession("c", user("u4"));
    forgetSession("a");
    expect(recallLiveSession("a", "u3")).toBeUndefined();
    expect(recallLiveSession("b", "u3")?.id).toBe("u3");
    forgetUserSessions("u3");
    expect(recallLiveSession("b", "u3")).toBeUndefined();
    expect(recallLiveSession("c", "u4")?.id).toBe("u4");
  });
});
