// The local provider's jobs on the GPU job board (docs/llm.md "Streaming from the GPU worker"): enqueue one, then
// follow its output as the worker streams it, through the board's long-poll reads, until the job ends. Failures
// become the router's ProviderErrors: no worker took the job in time, or the worker has no model, is "unavailable"
// (fall back); a crash or a restart mid-stream is "server". A job given up on is cancelled, so its worker stops.
import type { OwnedJob } from "../../../durable-objects/job-board";
import { jobBoard } from "../jobs/board";
import type { JobSpec, JobStatus, JobTypeName } from "../jobs/protocol";
import type { Env } from "../platform/env";
import { ProviderError } from "./providers/types";

/** The board's owner for the provider's jobs: not a user, so no notifications or job events reach anyone. */
export const LOCAL_OWNER = "llm-local";

export const LOCAL_LIMITS = {
  /** How long a job may wait for a worker to take it before the target counts as unavailable. */
  pickupMs: 30_000,
  /** How long a running job may go without new output (or ending) before it counts as hung. */
  idleMs: 120_000,
  /** One long-poll read of the board. */
  readWaitMs: 20_000,
  /** A job still queued this long is checked for any worker at all: with none seen lately it fails at once. */
  presenceCheckMs: 1_000,
  /** A worker seen this recently counts as present. */
  workerSeenMs: 60_000,
} as const;

/** Whether any GPU worker has asked for work lately (whatever its job types; a revoked one can no longer ask). */
export async function workerPresent(env: Env): Promise<boolean> {
  const seen = Object.values(await jobBoard(env).workersSeen());
  const now = Date.now();
  return seen.some((w) => w.lastSeenAt !== null && now - Date.parse(w.lastSeenAt) < LOCAL_LIMITS.workerSeenMs);
}

export const LOCAL_NOT_PROVISIONED =
  "the local provider has no worker for it: run a GPU worker with an instruct GGUF (llm-chat-gguf) and an embedding GGUF (llm-embed-gguf) provisioned (`npm run models:fetch`, docs/gpu-worker.md)";

const ENDED: readonly JobStatus[] = ["completed", "failed", "cancelled", "dead"];

/** The message a worker's failure carries when its model is missing (gpu-worker/backends/model-file.ts). */
const NOT_PROVISIONED = /none is provisioned|not provisioned/i;

export interface OutputStep {
  pieces: string[];
  job: OwnedJob;
}

/** Enqueues a job for the local provider; its id is the caller's to follow. */
export async function enqueueLocal(
  env: Env,
  type: JobTypeName,
  options: JobSpec["options"],
  text = "",
): Promise<string> {
  const id = `llm_${crypto.randomUUID().replaceAll("-", "")}`;
  await jobBoard(env).enqueue({ id, owner: LOCAL_OWNER, type, input: { text }, options });
  return id;
}

/** A job that ended without completing, as the router's error. */
export function failureOf(job: OwnedJob): ProviderError {
  const reason = job.error ?? job.status;
  if (NOT_PROVISIONED.test(reason)) return new ProviderError("unavailable", `local: ${reason}`);
  return new ProviderError("server", `local: the GPU worker's ${job.type} job ${job.status} (${reason})`);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The job's output as it comes: each step is the pieces new since the last (possibly none: a status change) and the
 * job. Ends after the step where the job ended. Throws ProviderError when no worker takes the job in time, when it
 * goes quiet, or when it restarts after pieces were already handed out; cancels the job when it stops early.
 */
export async function* followJob(env: Env, id: string, signal: AbortSignal): AsyncGenerator<OutputStep> {
  const board = jobBoard(env);
  const cursor = { after: 0, generation: 0, status: "queued" as JobStatus };
  let handedOut = false;
  let ended = false;
  const started = Date.now();
  const queuedUntil = started + LOCAL_LIMITS.pickupMs;
  let presenceChecked = false;
  let lastNews = Date.now();
  try {
    for (;;) {
      if (cursor.status === "queued" && !presenceChecked && Date.now() - started >= LOCAL_LIMITS.presenceCheckMs) {
        presenceChecked = true;
        if (!(await workerPresent(env))) throw new ProviderError("unavailable", `local: ${LOCAL_NOT_PROVISIONED}`);
      }
      const limit =
        cursor.status === "queued"
          ? presenceChecked
            ? queuedUntil
            : started + LOCAL_LIMITS.presenceCheckMs
          : lastNews + LOCAL_LIMITS.idleMs;
      const wait = Math.min(LOCAL_LIMITS.readWaitMs, limit - Date.now());
      if (wait <= 0 && cursor.status === "queued" && !presenceChecked) continue;
      if (wait <= 0) {
        throw cursor.status === "queued"
          ? new ProviderError(
              "unavailable",
              `local: no GPU worker took the job within ${LOCAL_LIMITS.pickupMs / 1000} s; ${LOCAL_NOT_PROVISIONED}`,
            )
          : new ProviderError("timeout", `local: the GPU worker sent nothing for ${LOCAL_LIMITS.idleMs / 1000} s`);
      }
      const read = await abortable(board.readOutput(id, LOCAL_OWNER, cursor, wait), signal);
      if (!read) throw new ProviderError("server", "local: the job vanished from the board");
      if (read.generation !== cursor.generation && handedOut) {
        // Nothing is retried once a byte went out: a second attempt would repeat the text from its start.
        throw new ProviderError("server", "local: the GPU worker's job restarted after it had streamed");
      }
      const changed = read.pieces.length > 0 || read.job.status !== cursor.status;
      cursor.after = read.next;
      cursor.generation = read.generation;
      cursor.status = read.job.status;
      if (changed) lastNews = Date.now();
      if (read.pieces.length > 0) handedOut = true;
      ended = ENDED.includes(read.job.status);
      if (changed || ended) yield { pieces: read.pieces, job: read.job };
      if (ended) return;
    }
  } finally {
    // Stopped early (the client went away, a timeout, a restart): the worker learns at its next post or heartbeat.
    if (!ended) await board.cancel(id, LOCAL_OWNER).catch(() => undefined);
  }
}

/** Follows the job to its end: the completed job and every piece it streamed, or the failure as a ProviderError. */
export async function awaitJob(env: Env, id: string, signal: AbortSignal): Promise<{ job: OwnedJob; text: string }> {
  let text = "";
  for await (const step of followJob(env, id, signal)) {
    text += step.pieces.join("");
    if (step.job.status === "completed") return { job: step.job, text };
    if (ENDED.includes(step.job.status)) throw failureOf(step.job);
  }
  throw new ProviderError("server", "local: the job's output ended before the job");
}
