// /v1/audio: OpenAI-compatible speech, transcription and translation over the GPU job board. A request waits for its
// job (JOBS_AUDIO_WAIT_MS, 5 minutes by default) and answers the result, or an error that says why not (docs/jobs.md).
import type { Context } from "hono";
import { z } from "zod";
import {
  answerWhenDone,
  audioJobId,
  OPENAI_SPEECH_FORMATS,
  OPENAI_SPEECH_MODELS,
  OPENAI_TRANSCRIPTION_MODELS,
  OPENAI_TRANSLATION_MODELS,
  OPENAI_VOICES,
  type OpenAiVoice,
  unproducibleFormat,
} from "../src/lib/audio/openai-audio";
import { SPEECH_MEDIA_TYPES } from "../src/lib/audio/speech-formats";
import { formatTranscript, TRANSCRIPT_FORMATS, TranscriptResult } from "../src/lib/audio/transcript-formats";
import { principal } from "../src/lib/identity/auth";
import { artifactResponse, jobBoard } from "../src/lib/jobs/board";
import {
  assertSameSubmission,
  SUBMISSION_BODY_LIMIT,
  storeSubmissionInput,
  toJobSpec,
} from "../src/lib/jobs/submission";
import { jobTypeSpec } from "../src/lib/jobs/types";
import { toBase64 } from "../src/lib/platform/base64";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";

/** Room for the longest wait (JOBS_AUDIO_WAIT_MS at most 590 s) and reading the result: never the route's own 504. */
const AUDIO_ROUTE_TIMEOUT_MS = 600_000;

const SpeechRequest = z.object({
  model: z.enum(OPENAI_SPEECH_MODELS),
  input: z
    .string()
    .min(1)
    .max(jobTypeSpec("speech").maxTextChars ?? 4096),
  voice: z.enum(Object.keys(OPENAI_VOICES) as [OpenAiVoice, ...OpenAiVoice[]]),
  response_format: z.enum(OPENAI_SPEECH_FORMATS).default("mp3"),
  speed: z.number().min(0.25).max(4).default(1),
  // gpt-4o-mini-tts's style prompt: accepted so the SDK's requests validate; the speech engines have no such control.
  instructions: z.string().max(4096).optional(),
});

const AudioFile = z.object({ base64: z.string().min(1), mediaType: z.string().min(1).max(128) });
const Temperature = z.coerce.number().min(0).max(1).optional();
// Whisper's initial prompt: OpenAI allows 224 tokens, which this bounds generously in characters.
const Prompt = z.string().max(1000).optional();

const TranscriptionRequest = z.object({
  // whisper-1 and OpenAI's newer transcription models all run the `transcribe` job type.
  model: z.enum(OPENAI_TRANSCRIPTION_MODELS),
  file: AudioFile,
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/, "an ISO-639-1 code such as 'en'")
    .optional(),
  response_format: z.enum(TRANSCRIPT_FORMATS).default("json"),
  prompt: Prompt,
  temperature: Temperature,
  timestamp_granularities: z
    .array(z.enum(["segment", "word"]))
    .min(1)
    .max(2)
    .optional(),
});

const TranslationRequest = z.object({
  model: z.enum(OPENAI_TRANSLATION_MODELS),
  file: AudioFile,
  response_format: z.enum(TRANSCRIPT_FORMATS).default("json"),
  prompt: Prompt,
  temperature: Temperature,
});

/** OpenAI's multipart form as the schema's shape (the file travels as base64, like a JSON submission). */
async function audioFromForm(form: FormData): Promise<unknown> {
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

type Recognition = {
  task: "transcribe" | "translate";
  file: z.output<typeof AudioFile>;
  language?: string | undefined;
  prompt?: string | undefined;
  temperature?: number | undefined;
  granularities: string[];
  format: z.output<typeof TranscriptionRequest>["response_format"];
};

/** Transcription and translation: one `transcribe` job (task `translate` for the latter), answered in the format. */
async function recognize(c: Context<AppEnv>, request: Recognition, content: unknown): Promise<Response> {
  const owner = principal(c).sub;
  const id = await audioJobId(c, owner, content);
  const board = jobBoard(c.env);
  await assertSameSubmission(c, board, id, content);
  if (!(await board.get(id, owner))) {
    const submission = {
      type: "transcribe" as const,
      input: request.file,
      // What whisper takes besides the audio; the worker applies each it supports (docs/gpu-worker.md).
      options: {
        ...(request.task === "translate" ? { task: "translate" } : {}),
        language: request.language ?? null,
        prompt: request.prompt ?? null,
        temperature: request.temperature ?? null,
        timestampGranularities: request.granularities,
      },
    };
    const input = await storeSubmissionInput(c, id, submission);
    await board.enqueue(toJobSpec(id, owner, submission, input));
  }
  return answerWhenDone(c, id, owner, request.task === "translate" ? "translation" : "transcription", (job) => {
    const transcript = TranscriptResult.safeParse(job.result);
    if (!transcript.success) throw new ApiError("upstream_error", "The worker's transcript is malformed");
    const { body, contentType } = formatTranscript(transcript.data, request.format, {
      task: request.task,
      temperature: request.temperature,
    });
    return c.body(body, 200, { "Content-Type": contentType });
  });
}

const waitNote =
  "Waits for the GPU job (JOBS_AUDIO_WAIT_MS, or the SDK's X-Stainless-Timeout less 2 s) and answers the result. " +
  "A job still running then → 504 with its id (`X-Job-Id`, `Location`); a format the workers cannot produce → 400; " +
  "failed → 502; cancelled → 409; each with " +
  "`x-should-retry: false`. A retry by an OpenAI SDK, or with the same Idempotency-Key, rejoins the same job.";

const failures = {
  409: { description: "The job was cancelled" },
  400: { description: "The format cannot be produced by this deployment's workers (not retried)" },
  502: { description: "The job failed (not retried: `x-should-retry: false`)" },
  504: { description: "The job is still running: its id is in `X-Job-Id`" },
} as const;

export const audioService = new ApiRouter("audio")
  .route(
    {
      method: "post",
      path: "/speech",
      auth: "user",
      summary: "Text to speech, OpenAI-compatible (`{model, input, voice, response_format, speed}`)",
      description: `The audio in \`response_format\` (mp3 by default, opus, aac, flac, wav, pcm). ${waitNote}`,
      body: SpeechRequest,
      timeoutMs: AUDIO_ROUTE_TIMEOUT_MS,
      responses: { 200: { description: "The audio", contentType: "audio/mpeg" }, ...failures },
    },
    async (c, { body }) => {
      const owner = principal(c).sub;
      const id = await audioJobId(c, owner, body);
      const board = jobBoard(c.env);
      await assertSameSubmission(c, board, id, body);
      await board.enqueue({
        id,
        owner,
        type: "speech",
        input: { text: body.input },
        options: { voice: OPENAI_VOICES[body.voice], format: body.response_format, speed: body.speed },
      });
      return answerWhenDone(c, id, owner, "speech", async (job) => {
        const audio = await artifactResponse(c.env, job);
        // Never another format in place of the one asked for (a worker without the encoder, or an older one).
        const expected = SPEECH_MEDIA_TYPES[body.response_format];
        const delivered = audio.headers.get("content-type") ?? "no media type";
        if (delivered !== expected) {
          await audio.body?.cancel();
          throw unproducibleFormat("speech", job.id, `the worker answered ${delivered}, not ${expected}`);
        }
        return audio;
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/transcriptions",
      auth: "user",
      summary: "Speech to text, OpenAI-compatible (multipart `file`, `model`, `language`, `response_format`)",
      description: `The transcript in \`response_format\` (json, text, srt, vtt, verbose_json). ${waitNote}`,
      body: TranscriptionRequest,
      multipart: audioFromForm,
      bodyLimit: SUBMISSION_BODY_LIMIT,
      timeoutMs: AUDIO_ROUTE_TIMEOUT_MS,
      responses: { 200: { description: "The transcript in the requested format" }, ...failures },
    },
    (c, { body }) =>
      recognize(
        c,
        {
          task: "transcribe",
          file: body.file,
          language: body.language,
          prompt: body.prompt,
          temperature: body.temperature,
          granularities: body.timestamp_granularities ?? ["segment"],
          format: body.response_format,
        },
        body,
      ),
  )
  .route(
    {
      method: "post",
      path: "/translations",
      auth: "user",
      summary: "Speech in any language to English text, OpenAI-compatible (multipart `file`, `model`)",
      description: `The English transcript in \`response_format\`. ${waitNote}`,
      body: TranslationRequest,
      multipart: audioFromForm,
      bodyLimit: SUBMISSION_BODY_LIMIT,
      timeoutMs: AUDIO_ROUTE_TIMEOUT_MS,
      responses: { 200: { description: "The English transcript in the requested format" }, ...failures },
    },
    (c, { body }) =>
      recognize(
        c,
        {
          task: "translate",
          file: body.file,
          prompt: body.prompt,
          temperature: body.temperature,
          granularities: ["segment"],
          format: body.response_format,
        },
        body,
      ),
  );
