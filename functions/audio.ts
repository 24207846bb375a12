// /v1/audio: OpenAI-compatible speech synthesis and transcription over the GPU job board. A request waits for its
// job up to JOBS_AUDIO_WAIT_MS and answers with the result; a slower job answers 202 with its link (docs/jobs.md).
import type { Context } from "hono";
import { z } from "zod";
import {
  OPENAI_SPEECH_FORMATS,
  OPENAI_SPEECH_MODELS,
  OPENAI_TRANSCRIPTION_MODELS,
  OPENAI_VOICES,
  type OpenAiVoice,
  waitForJob,
} from "../src/lib/audio/openai-audio";
import { formatTranscript, TRANSCRIPT_FORMATS, TranscriptResult } from "../src/lib/audio/transcript-formats";
import { principal } from "../src/lib/identity/auth";
import { artifactResponse, jobBoard, publicJob } from "../src/lib/jobs/board";
import { JobRecord } from "../src/lib/jobs/protocol";
import {
  assertSameSubmission,
  SUBMISSION_BODY_LIMIT,
  storeSubmissionInput,
  submissionJobId,
  toJobSpec,
} from "../src/lib/jobs/submission";
import { jobTypeSpec } from "../src/lib/jobs/types";
import { toBase64 } from "../src/lib/platform/base64";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";

const SpeechRequest = z.object({
  model: z.enum(OPENAI_SPEECH_MODELS),
  input: z
    .string()
    .min(1)
    .max(jobTypeSpec("speech").maxTextChars ?? 4096),
  voice: z.enum(Object.keys(OPENAI_VOICES) as [OpenAiVoice, ...OpenAiVoice[]]),
  response_format: z.enum(OPENAI_SPEECH_FORMATS).default("mp3"),
  speed: z.number().min(0.25).max(4).default(1),
});

const TranscriptionRequest = z.object({
  // whisper-1 and OpenAI's newer transcription models all run the `transcribe` job type.
  model: z.enum(OPENAI_TRANSCRIPTION_MODELS),
  file: z.object({ base64: z.string().min(1), mediaType: z.string().min(1).max(128) }),
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/, "an ISO-639-1 code such as 'en'")
    .optional(),
  response_format: z.enum(TRANSCRIPT_FORMATS).default("json"),
  // Whisper's initial prompt: OpenAI allows 224 tokens, which this bounds generously in characters.
  prompt: z.string().max(1000).optional(),
  temperature: z.coerce.number().min(0).max(1).optional(),
  timestamp_granularities: z
    .array(z.enum(["segment", "word"]))
    .min(1)
    .max(2)
    .optional(),
});

/** OpenAI's multipart form as the schema's shape (the file travels as base64, like a JSON submission). */
async function transcriptionFromForm(form: FormData): Promise<unknown> {
  const file = form.get("file");
  const field = (name: string) => form.get(name) ?? undefined;
  const granularities = [...form.getAll("timestamp_granularities[]"), ...form.getAll("timestamp_granularities")];
  return {
    model: field("model"),
    file:
      file instanceof File
        ? {
            base64: toBase64(new Uint8Array(await file.arrayBuffer())),
            mediaType: file.type || "application/octet-stream",
          }
        : undefined,
    language: field("language"),
    response_format: field("response_format"),
    prompt: field("prompt"),
    temperature: field("temperature"),
    // OpenAI's clients send the array as repeated `timestamp_granularities[]` fields.
    timestamp_granularities: granularities.length > 0 ? granularities : undefined,
  };
}

/**
 * Both OpenAI routes: wait up to JOBS_AUDIO_WAIT_MS, then answer the finished job with `completed`, a
 * still-running one with 202 and its link, and a failed one with 502.
 */
async function answerWhenDone(
  c: Context<AppEnv>,
  id: string,
  owner: string,
  label: string,
  completed: (job: NonNullable<Awaited<ReturnType<typeof waitForJob>>>) => Response | Promise<Response>,
): Promise<Response> {
  const job = await waitForJob(c.env, id, owner, c.get("config").jobsAudioWaitMs);
  if (!job) throw new ApiError("not_found", "Job not found");
  if (job.status === "completed") return completed(job);
  if (job.status === "queued" || job.status === "running") {
    c.header("Location", `/v1/jobs/${job.id}`);
    return c.json(publicJob(job), 202);
  }
  throw new ApiError("upstream_error", `The ${label} job is ${job.status}: ${job.error ?? "no reason given"}`);
}

export const audioService = new ApiRouter("audio")
  .route(
    {
      method: "post",
      path: "/speech",
      auth: "user",
      summary: "Text to speech, OpenAI-compatible (`{model, input, voice, response_format, speed}`)",
      description:
        "Answers the audio when the job finishes within JOBS_AUDIO_WAIT_MS, else 202 with the job and its link " +
        "(`Location: /v1/jobs/:id`; the audio is then at `/v1/jobs/:id/result`).",
      body: SpeechRequest,
      // The wait plus room to read the artifact: never the route's own 504.
      timeoutMs: 30_000,
      responses: {
        200: { description: "The audio", contentType: "audio/mpeg" },
        202: { description: "Still running: the job", schema: JobRecord },
        502: { description: "The job failed" },
      },
    },
    async (c, { body }) => {
      const owner = principal(c).sub;
      const id = await submissionJobId(c, owner);
      const board = jobBoard(c.env);
      await assertSameSubmission(c, board, id, body);
      await board.enqueue({
        id,
        owner,
        type: "speech",
        input: { text: body.input },
        options: { voice: OPENAI_VOICES[body.voice], format: body.response_format, speed: body.speed },
      });
      return answerWhenDone(c, id, owner, "speech", (job) => artifactResponse(c.env, job));
    },
  )
  .route(
    {
      method: "post",
      path: "/transcriptions",
      auth: "user",
      summary: "Speech to text, OpenAI-compatible (multipart `file`, `model`, `language`, `response_format`)",
      description:
        "Answers the transcript in `response_format` (json, text, srt, vtt, verbose_json) when the job finishes within " +
        "JOBS_AUDIO_WAIT_MS, else 202 with the job and its link.",
      body: TranscriptionRequest,
      multipart: transcriptionFromForm,
      bodyLimit: SUBMISSION_BODY_LIMIT,
      timeoutMs: 30_000,
      responses: {
        200: { description: "The transcript in the requested format" },
        202: { description: "Still running: the job", schema: JobRecord },
        502: { description: "The job failed" },
      },
    },
    async (c, { body }) => {
      const owner = principal(c).sub;
      const id = await submissionJobId(c, owner);
      const board = jobBoard(c.env);
      await assertSameSubmission(c, board, id, body);
      if (!(await board.get(id, owner))) {
        const submission = {
          type: "transcribe" as const,
          input: body.file,
          // What whisper takes besides the audio; the worker applies each it supports (docs/gpu-worker.md).
          options: {
            language: body.language ?? null,
            prompt: body.prompt ?? null,
            temperature: body.temperature ?? null,
            timestampGranularities: body.timestamp_granularities ?? ["segment"],
          },
        };
        const input = await storeSubmissionInput(c, id, submission);
        await board.enqueue(toJobSpec(id, owner, submission, input));
      }
      return answerWhenDone(c, id, owner, "transcription", (job) => {
        const transcript = TranscriptResult.safeParse(job.result);
        if (!transcript.success) throw new ApiError("upstream_error", "The worker's transcript is malformed");
        const { body: text, contentType } = formatTranscript(transcript.data, body.response_format);
        return c.body(text, 200, { "Content-Type": contentType });
      });
    },
  );
