// OpenAI's audio API names mapped onto Tessera's job types, models and voices, so existing OpenAI clients work
// unchanged; the job id a request (and an SDK's retry of it) runs as; and the wait for that job, which lets the
// routes answer with the result itself, as OpenAI's synchronous audio routes do (docs/jobs.md).
import type { Context } from "hono";
import type { OwnedJob } from "../../../durable-objects/job-board";
import { sha256Hex } from "../identity/tokens";
import { jobBoard } from "../jobs/board";
import type { JobStatus } from "../jobs/protocol";
import { redactPaths } from "../jobs/redact";
import { submissionJobId } from "../jobs/submission";
import type { AppEnv, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { unsupportedFormatReason } from "./speech-formats";

/** OpenAI speech model names; each runs the `speech` job type (its registry entry names the real model). */
export const OPENAI_SPEECH_MODELS = ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"] as const;

/** OpenAI transcription model names; each runs the `transcribe` job type. */
export const OPENAI_TRANSCRIPTION_MODELS = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"] as const;

/** OpenAI's translation model: Whisper's `translate` task, to English. */
export const OPENAI_TRANSLATION_MODELS = ["whisper-1"] as const;

/** OpenAI voice → the speech model's voice of the same character (newer voices onto the nearest available one). */
export const OPENAI_VOICES = {
  alloy: "af_alloy",
  ash: "am_adam",
  ballad: "bm_lewis",
  cedar: "am_michael",
  coral: "af_heart",
  echo: "am_echo",
  fable: "bm_fable",
  marin: "af_bella",
  nova: "af_nova",
  onyx: "am_onyx",
  sage: "af_sarah",
  shimmer: "af_nicole",
  verse: "am_michael",
} as const;
export type OpenAiVoice = keyof typeof OPENAI_VOICES;

export const OPENAI_SPEECH_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;

const FINAL: readonly JobStatus[] = ["completed", "failed", "cancelled", "dead"];
/** The wait reads the board at this interval at first, then backs off to AUDIO_POLL_MAX_MS. */
const AUDIO_POLL_MS = 100;
const AUDIO_POLL_MAX_MS = 1000;
/** Answer this long before the SDK's own timeout (X-Stainless-Timeout), so it reads our error, not its abort. */
const SDK_TIMEOUT_MARGIN_MS = 2000;
/** An SDK's retries of one request fall within this window; each window keys its own job. */
const RETRY_WINDOW_MS = 10 * 60_000;

/** The job once it has finished, or as it is when `ms` have passed. */
export async function waitForJob(env: Env, id: string, owner: string, ms: number): Promise<OwnedJob | null> {
  const deadline = Date.now() + ms;
  let interval = AUDIO_POLL_MS;
  for (;;) {
    const job = await jobBoard(env).get(id, owner);
    if (!job || FINAL.includes(job.status) || Date.now() >= deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
    interval = Math.min(AUDIO_POLL_MAX_MS, interval * 2);
  }
}

/**
 * The job id for an audio request. An `Idempotency-Key` keys it as on /v1/jobs. Without one, a request from a
 * Stainless SDK (the openai packages, which send `X-Stainless-Retry-Count` but no key) is keyed by its caller, route
 * and content within a ten-minute window, so the SDK's automatic retry finds the job its first try made instead of
 * making another; a retry also looks in the previous window. Anything else gets a fresh id.
 */
export async function audioJobId(c: Context<AppEnv>, owner: string, content: unknown): Promise<string> {
  const retryCount = c.req.header("x-stainless-retry-count");
  if (c.req.header("idempotency-key") !== undefined || retryCount === undefined) return submissionJobId(c, owner);
  const digest = await sha256Hex(JSON.stringify(content));
  const window = Math.floor(Date.now() / RETRY_WINDOW_MS);
  const idFor = async (w: number) =>
    `job_${(await sha256Hex(`${owner}\n${c.req.path}\n${digest}\n${w}`)).slice(0, 32)}`;
  if (retryCount !== "0") {
    const previous = await idFor(window - 1);
    if (await jobBoard(c.env).get(previous, owner)) return previous;
  }
  return idFor(window);
}

/** How long this request waits: JOBS_AUDIO_WAIT_MS, less when the SDK says it gives up sooner. */
function waitBudget(c: Context<AppEnv>): number {
  const configured = c.get("config").jobsAudioWaitMs;
  const sdkSeconds = Number(c.req.header("x-stainless-timeout"));
  if (!Number.isFinite(sdkSeconds) || sdkSeconds <= 0) return configured;
  return Math.max(0, Math.min(configured, sdkSeconds * 1000 - SDK_TIMEOUT_MARGIN_MS));
}

/** Tells the openai SDKs not to retry (their `shouldRetry` obeys it), for errors another try cannot mend. */
const NO_RETRY = { "x-should-retry": "false" };

/**
 * The request asked for a format that this deployment's workers cannot produce: the caller's to change, so 400, not
 * to be retried (docs/jobs.md "Audio formats").
 */
export function unproducibleFormat(label: string, jobId: string, detail: string): ApiError {
  return new ApiError("invalid_request", `The ${label} cannot be produced in the requested format: ${detail}`, {
    headers: { ...NO_RETRY, "X-Job-Id": jobId },
  });
}

/**
 * Waits for the job and answers `completed` with it. Never a 2xx that is not the result: a job still running at the
 * end of the wait → 504 with its id and link, failed because the format cannot be produced → 400, otherwise failed
 * or dead → 502, cancelled → 409; all in the error shape, all
 * marked not to be retried (a retry would find the same job), and no path of the worker's disk in the message.
 */
export async function answerWhenDone(
  c: Context<AppEnv>,
  id: string,
  owner: string,
  label: string,
  completed: (job: OwnedJob) => Response | Promise<Response>,
): Promise<Response> {
  const job = await waitForJob(c.env, id, owner, waitBudget(c));
  if (!job) throw new ApiError("not_found", "Job not found");
  if (job.status === "completed") return completed(job);
  if (job.status === "queued" || job.status === "running") {
    throw new ApiError(
      "timeout",
      `The ${label} job ${job.id} is still ${job.status}; its result will be at /v1/jobs/${job.id}/result`,
      { headers: { ...NO_RETRY, Location: `/v1/jobs/${job.id}`, "X-Job-Id": job.id } },
    );
  }
  const reason = redactPaths(job.error ?? "no reason given");
  const unsupported = unsupportedFormatReason(reason);
  if (unsupported !== undefined) throw unproducibleFormat(label, job.id, unsupported);
  if (job.status === "cancelled") {
    throw new ApiError("conflict", `The ${label} job ${job.id} was cancelled`, {
      headers: { ...NO_RETRY, "X-Job-Id": job.id },
    });
  }
  throw new ApiError(
    "upstream_error",
    `The ${label} job ${job.id} ${job.status === "dead" ? "gave up" : "failed"}: ${reason}`,
    {
      headers: { ...NO_RETRY, "X-Job-Id": job.id },
    },
  );
}
