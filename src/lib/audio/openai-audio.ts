// OpenAI's audio API names mapped onto Tessera's job types, models and voices, so existing OpenAI clients work
// unchanged; and the wait for a job that lets those routes answer with the result itself when it is quick.
import type { OwnedJob } from "../../../durable-objects/job-board";
import { jobBoard } from "../jobs/board";
import type { JobStatus } from "../jobs/protocol";
import type { Env } from "../platform/env";

/** OpenAI speech model names; each runs the `speech` job type (its registry entry names the real model). */
export const OPENAI_SPEECH_MODELS = ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"] as const;

/** OpenAI transcription model names; each runs the `transcribe` job type. */
export const OPENAI_TRANSCRIPTION_MODELS = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"] as const;

/** OpenAI voice → the speech model's voice of the same character. */
export const OPENAI_VOICES = {
  alloy: "af_alloy",
  ash: "am_adam",
  ballad: "bm_lewis",
  coral: "af_heart",
  echo: "am_echo",
  fable: "bm_fable",
  onyx: "am_onyx",
  nova: "af_nova",
  sage: "af_sarah",
  shimmer: "af_nicole",
  verse: "am_michael",
} as const;
export type OpenAiVoice = keyof typeof OPENAI_VOICES;

export const OPENAI_SPEECH_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;

const FINAL: readonly JobStatus[] = ["completed", "failed", "cancelled", "dead"];
/** How often the wait reads the board: short enough to add little latency, long enough to stay cheap. */
const AUDIO_POLL_MS = 100;

/** The job once it has finished, or as it is when `ms` have passed. */
export async function waitForJob(env: Env, id: string, owner: string, ms: number): Promise<OwnedJob | null> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await jobBoard(env).get(id, owner);
    if (!job || FINAL.includes(job.status) || Date.now() >= deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, Math.min(AUDIO_POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
