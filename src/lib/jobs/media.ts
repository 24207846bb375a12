// Which accepted media type a job input is. Clients name the same format many ways (OpenAI's SDKs send what the
// operating system says: `video/webm` for a browser recording, `audio/x-m4a`, `application/octet-stream`), so the
// declared type is tried with its aliases, then the content's magic bytes.
import { sniffMagic } from "../files/media";

/** Other names for types the job registry accepts (src/lib/jobs/types.ts). */
const ALIASES: Readonly<Record<string, string>> = {
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/mp3": "audio/mpeg",
  "audio/mpga": "audio/mpeg",
  "audio/x-m4a": "audio/mp4",
  "audio/m4a": "audio/mp4",
  "video/mp4": "audio/mp4",
  "video/webm": "audio/webm",
  "video/x-matroska": "audio/webm",
  "audio/x-flac": "audio/flac",
  "application/ogg": "audio/ogg",
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
};

/** The accepted type the input is, or null when neither its declared type nor its bytes name one. */
export function acceptedMediaType(declared: string, bytes: Uint8Array, accepted: readonly string[]): string | null {
  for (const candidate of [declared.split(";")[0]?.trim().toLowerCase(), sniffMagic(bytes)]) {
    if (!candidate) continue;
    if (accepted.includes(candidate)) return candidate;
    const alias = ALIASES[candidate];
    if (alias && accepted.includes(alias)) return alias;
  }
  return null;
}
