// The login.new_address notification: a sign-in from an address none of the user's other sessions came from.
// Runs after the answer (waitUntil); the first sign-in of an account (registration) tells nobody anything.
import { and, eq, ne } from "drizzle-orm";
import { db } from "../db/client";
import { sessions } from "../db/schema";
import type { Env } from "../platform/env";
import { createLogger } from "../platform/log";
import { notify } from "./notify";

export async function noticeLoginAddress(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  login: { userId: string; sessionId: string; ip: string },
): Promise<void> {
  try {
    const database = db(env);
    const others = await database
      .select({ ip: sessions.ip })
      .from(sessions)
      .where(and(eq(sessions.userId, login.userId), ne(sessions.id, login.sessionId)));
    if (others.length === 0 || others.some((s) => s.ip === login.ip)) return;
    await notify(env, ctx, {
      id: `login:${login.sessionId}`,
      userId: login.userId,
      kind: "login.new_address",
      title: "New sign-in from an address you have not used before",
      body: `Address ${login.ip}. If this was not you, revoke the session and change your password.`,
      data: { sessionId: login.sessionId, ip: login.ip },
    });
  } catch (err) {
    createLogger("warn").warn("login address check failed", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
