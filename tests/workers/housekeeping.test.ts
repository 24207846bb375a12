// The hourly cron deletes expired memories and long-expired sessions (with their refresh tokens), and nothing else.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { db } from "../../src/lib/db/client";
import { HOURLY } from "../../src/lib/platform/scheduled";
import { api, json, registerUser } from "./support";

async function runCron(cron: string) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

const count = async (query: ReturnType<typeof sql>) =>
  Number(((await db(env).execute(query)).rows[0] as { n: string | number }).n);

describe("hourly housekeeping", () => {
  it("deletes expired memories and sessions expired over a day ago, keeping live and recently expired ones", async () => {
    const user = await registerUser();
    const create = async (content: string) =>
      (
        await json<{ id: string }>(
          await api("POST", "/v1/memories", { token: user.accessToken, body: { type: "note", content, ttl: 3600 } }),
        )
      ).id;
    const [expired, live] = [await create("gone soon"), await create("still here")];
    await db(env).execute(sql`UPDATE memories SET expires_at = now() - interval '1 second' WHERE id = ${expired}`);

    const second = await api("POST", "/v1/auth/login", {
      body: { username: user.user.username, password: user.password },
    });
    expect(second.status).toBe(200);
    const sessions = (
      await db(env).execute(sql`SELECT id FROM sessions WHERE user_id = ${user.user.id} ORDER BY created_at`)
    ).rows as { id: string }[];
    expect(sessions).toHaveLength(2);
    const [longExpired, justExpired] = sessions.map((s) => s.id);
    await db(env).execute(sql`UPDATE sessions SET expires_at = now() - interval '2 days' WHERE id = ${longExpired}`);
    await db(env).execute(sql`UPDATE sessions SET expires_at = now() - interval '1 hour' WHERE id = ${justExpired}`);

    await runCron("*/1 * * * *");
    expect(await count(sql`SELECT count(*) AS n FROM memories WHERE id = ${expired}`)).toBe(1);

    await runCron(HOURLY);
    expect(await count(sql`SELECT count(*) AS n FROM memories WHERE id = ${expired}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM memories WHERE id = ${live}`)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM sessions WHERE id = ${longExpired}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM refresh_tokens WHERE session_id = ${longExpired}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM sessions WHERE id = ${justExpired}`)).toBe(1);
  });
});
