// Any accepted audio to 16 kHz mono for Whisper: WAV natively, everything else through ffmpeg where the host has it.
import { invalidInput } from "../errors";
import { ffmpeg, ffmpegAvailable } from "./ffmpeg";
import { decodeWav, type PcmAudio, resample } from "./wav";

export const WHISPER_RATE = 16_000;

function isWav(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= 12 && String.fromCharCode(...bytes.subarray(0, 4), ...bytes.subarray(8, 12)) === "RIFFWAVE"
  );
}

export async function decodeAudio(bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<PcmAudio> {
  if (isWav(bytes)) return resample(decodeWav(bytes), WHISPER_RATE);
  if (!ffmpegAvailable()) {
    throw invalidInput(
      `${mediaType} audio needs ffmpeg on the GPU worker host (install it, or set FFMPEG_PATH); WAV works without it`,
    );
  }
  const wav = await ffmpeg(bytes, ["-f", "wav", "-ac", "1", "-ar", String(WHISPER_RATE), "-c:a", "pcm_s16le"], signal);
  return decodeWav(wav);
}
