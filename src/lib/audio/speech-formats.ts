// The speech formats' media types, and how a worker says that it cannot produce a format: shared by the edge
// (functions/audio.ts) and the GPU worker (gpu-worker/backends/espeak.ts), so that a format nobody can encode is
// a 400 for the caller, never a 502 and never another format (docs/jobs.md "Audio formats").

/** The media type each OpenAI speech `response_format` is delivered as. */
export const SPEECH_MEDIA_TYPES = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
} as const;

const UNSUPPORTED_FORMAT_PREFIX = "unsupported format: ";

/** A job failure that means the format cannot be produced on this worker (not an outage, not worth a retry). */
export function unsupportedFormatError(detail: string): string {
  return `${UNSUPPORTED_FORMAT_PREFIX}${detail}`;
}

/** The reason of a job failure that unsupportedFormatError made, without its prefix; undefined for any other. */
export function unsupportedFormatReason(error: string | undefined): string | undefined {
  return error?.startsWith(UNSUPPORTED_FORMAT_PREFIX) ? error.slice(UNSUPPORTED_FORMAT_PREFIX.length) : undefined;
}
