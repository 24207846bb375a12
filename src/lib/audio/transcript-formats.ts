// A transcription job's result in OpenAI's response formats. The worker completes a `transcribe` job with
// `{text, language?, duration?, segments: [{start, end, text, …}]}` (seconds); each format is built from that.
import { z } from "zod";
import { languageName } from "./languages";

export const TranscriptResult = z.object({
  text: z.string(),
  language: z.string().optional(),
  duration: z.number().optional(),
  segments: z
    .array(
      z.object({
        start: z.number().nonnegative(),
        end: z.number().nonnegative(),
        text: z.string(),
        /** What the engine reports beyond the timings, for verbose_json; absent ones are given as 0 or []. */
        tokens: z.array(z.number().int()).optional(),
        avg_logprob: z.number().optional(),
        compression_ratio: z.number().optional(),
        no_speech_prob: z.number().optional(),
      }),
    )
    .default([]),
  /** Word timestamps, when the job asked for them (`timestamp_granularities` with `word`) and the engine gives them. */
  words: z
    .array(z.object({ word: z.string(), start: z.number().nonnegative(), end: z.number().nonnegative() }))
    .optional(),
});
export type TranscriptResult = z.output<typeof TranscriptResult>;

export const TRANSCRIPT_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"] as const;
type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** `hh:mm:ss<sep>mmm`: SRT separates milliseconds with a comma, WebVTT with a dot. */
function timestamp(seconds: number, separator: "," | "."): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

function cues(t: TranscriptResult, separator: "," | "."): string[] {
  return t.segments.map(
    (seg) => `${timestamp(seg.start, separator)} --> ${timestamp(seg.end, separator)}\n${seg.text.trim()}`,
  );
}

/** What the request asked for, which verbose_json reports back. */
interface TranscriptRequest {
  task: "transcribe" | "translate";
  temperature?: number | undefined;
}

/** Whisper's decoding window: 30 s of 10 ms frames; OpenAI's `seek` is the window a segment was decoded in. */
const WINDOW_FRAMES = 3000;

/** OpenAI's verbose_json: every segment with all of OpenAI's fields, and the language as a name ("english"). */
function verbose(t: TranscriptResult, request: TranscriptRequest) {
  // A translation's text is English whatever was spoken.
  const language = request.task === "translate" ? "english" : t.language ? languageName(t.language) : null;
  return {
    task: request.task,
    language,
    duration: t.duration ?? null,
    text: t.text,
    segments: t.segments.map((seg, id) => ({
      id,
      seek: Math.floor((seg.start * 100) / WINDOW_FRAMES) * WINDOW_FRAMES,
      start: seg.start,
      end: seg.end,
      text: seg.text,
      tokens: seg.tokens ?? [],
      temperature: request.temperature ?? 0,
      avg_logprob: seg.avg_logprob ?? 0,
      compression_ratio: seg.compression_ratio ?? 0,
      no_speech_prob: seg.no_speech_prob ?? 0,
    })),
    ...(t.words ? { words: t.words } : {}),
  };
}

/** The body and media type of a transcript in one of OpenAI's formats. */
export function formatTranscript(
  t: TranscriptResult,
  format: TranscriptFormat,
  request: TranscriptRequest = { task: "transcribe" },
): { body: string; contentType: string } {
  switch (format) {
    case "json":
      return { body: JSON.stringify({ text: t.text }), contentType: "application/json" };
    case "verbose_json":
      return { body: JSON.stringify(verbose(t, request)), contentType: "application/json" };
    case "text":
      return { body: t.text, contentType: "text/plain; charset=utf-8" };
    case "srt":
      return {
        body: `${cues(t, ",")
          .map((cue, i) => `${i + 1}\n${cue}`)
          .join("\n\n")}\n`,
        contentType: "application/x-subrip",
      };
    case "vtt":
      return { body: `WEBVTT\n\n${cues(t, ".").join("\n\n")}\n`, contentType: "text/vtt" };
  }
}
