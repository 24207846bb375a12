// What a finished job tells the rest of the platform: its owner is notified (job.completed, job.dead) and its
// latency is recorded for the analytics summary. Called by the board after the transition; best effort.
import { z } from "zod";
import { PLATFORM_EVENTS, recordPlatformEvent } from "../analytics/record";
import { notify } from "../notifications/notify";
import type { Env } from "../platform/env";
import { createLogger } from "../platform/log";
import type { JobRecord } from "./protocol";

const OUTCOMES = {
  completed: { kind: "job.completed", event: PLATFORM_EVENTS.jobCompleted, title: "Your job finished" },
  dead: { kind: "job.dead", event: PLATFORM_EVENTS.jobDead, title: "Your job failed for good" },
} as const;

const isUserId = (owner: string) => z.uuid().safeParse(owner).success;

export async function reportJobOutcome(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  job: JobRecord & { owner: string },
): Promise<void> {
  if (job.status !== "completed" && job.status !== "dead") return;
  // Jobs submitted by something other than a user (tests, tools) have nobody to tell.
  if (!isUserId(job.owner)) return;
  const outcome = OUTCOMES[job.status];
  const finishedAt = Date.parse(job.updatedAt);
  // One id per transition: a redelivered report is one entry, a retried job finishing again is another.
  const id = `job:${job.id}:${job.status}:${finishedAt}`;
  try {
    await Promise.all([
      notify(env, ctx, {
        id,
        userId: job.owner,
        kind: outcome.kind,
        title: outcome.title,
        body: job.status === "dead" ? (job.error ?? "") : "",
        data: { jobId: job.id, type: job.type, status: job.status },
      }),
      recordPlatformEvent(env, {
        id,
        name: outcome.event,
        userId: job.owner,
        value: finishedAt - Date.parse(job.createdAt),
        props: { type: job.type },
      }),
    ]);
  } catch (err) {
    createLogger("warn").warn("job outcome not reported", {
      jobId: job.id,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
