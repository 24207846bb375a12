// Text-to-speech with espeak-ng compiled to WebAssembly: its voices ship inside the npm package, so speech works on
// any host with nothing provisioned. Each job runs the espeak-ng program once in a fresh WebAssembly instance.
import ESpeakNg from "espeak-ng";
import { SPEECH_MEDIA_TYPES, unsupportedFormatError } from "../../src/lib/audio/speech-formats";
import type { SpeechResult } from "../../src/lib/jobs/protocol";
import { ffmpeg, ffmpegCodecs } from "../audio/ffmpeg";
import { decodeWav, durationSeconds, encodeWav, type PcmAudio, resample, toPcm16 } from "../audio/wav";
import { JobError } from "../errors";
import { type Backend, type JobInput, type JobOutput, numberOption, type RunContext, stringOption } from "./types";

/** espeak-ng's default speaking rate in words per minute; OpenAI's speed 1 maps to it. */
const BASE_WPM = 175;
const RESPONSE_NAME = "speech";

/** Output formats ffmpeg produces for OpenAI's names: the encoder each needs, and its media type. */
const CONVERTED: Record<string, { encoder: string; args: string[]; contentType: string }> = {
  mp3: {
    encoder: "libmp3lame",
    args: ["-f", "mp3", "-codec:a", "libmp3lame", "-q:a", "4"],
    contentType: SPEECH_MEDIA_TYPES.mp3,
  },
  opus: {
    encoder: "libopus",
    args: ["-f", "ogg", "-codec:a", "libopus", "-b:a", "48k"],
    contentType: SPEECH_MEDIA_TYPES.opus,
  },
  aac: { encoder: "aac", args: ["-f", "adts", "-codec:a", "aac"], contentType: SPEECH_MEDIA_TYPES.aac },
  flac: { encoder: "flac", args: ["-f", "flac"], contentType: SPEECH_MEDIA_TYPES.flac },
};

/**
 * The espeak-ng voice for a job's `voice`: Kokoro-style names (what the edge maps OpenAI's voices to: `af_*`
 * American female, `bm_*` British male …) become an English voice with a matching variant; an espeak-ng voice name
 * (`en-gb`, `de`, `en-us+f2`) is used as it is.
 */
export function espeakVoice(voice: string | undefined): string {
  if (!voice) return "en-us";
  const kokoro = /^([ab])([fm])_[a-z]+$/.exec(voice);
  if (kokoro) return `${kokoro[1] === "b" ? "en-gb" : "en-us"}+${kokoro[2] === "f" ? "f3" : "m3"}`;
  if (/^[a-z]{2,3}(-[a-z0-9]+)*(\+[a-z0-9]+)?$/i.test(voice)) return voice;
  throw new JobError(`unknown voice "${voice}"`, false);
}

/** The job's `speed` (OpenAI's 0.25–4, default 1). */
export function speechSpeed(input: JobInput): number {
  return Math.min(4, Math.max(0.25, numberOption(input, "speed") ?? 1));
}

/** Runs espeak-ng once: the text goes in through a file, so no text can be mistaken for an option. */
export async function synthesize(text: string, voice: string, wpm: number): Promise<Uint8Array> {
  const errors: string[] = [];
  let instance: Awaited<ReturnType<typeof ESpeakNg>>;
  try {
    instance = await ESpeakNg({
      arguments: ["-w", "out.wav", "-v", voice, "-s", String(wpm), "-f", "in.txt"],
      preRun: [(m) => m.FS.writeFile("in.txt", text)],
      print: () => {},
      printErr: (line: string) => errors.push(line),
    });
  } catch (err) {
    const reason = errors.find((l) => l.startsWith("Error:")) ?? (err instanceof Error ? err.message : String(err));
    throw new JobError(`espeak-ng failed for voice "${voice}": ${reason}`, false);
  }
  return instance.FS.readFile("out.wav");
}

/**
 * The speech job's artifact and result from synthesised audio, in the format asked for: WAV and OpenAI's pcm always,
 * the compressed formats through ffmpeg. A format this host cannot encode fails the job for good: never another
 * format in its place. Shared by every speech engine.
 */
export async function deliverSpeech(
  audio: PcmAudio,
  how: { format: string | undefined; voice: string; engine: string; wav?: Uint8Array },
  ctx: RunContext,
): Promise<JobOutput> {
  const format = how.format ?? "wav";
  let bytes: Uint8Array = how.wav ?? encodeWav(audio);
  let contentType: string = SPEECH_MEDIA_TYPES.wav;
  let delivered = "wav";
  let sampleRate = audio.sampleRate;
  if (format === "pcm") {
    // OpenAI's pcm: raw signed 16-bit little-endian at 24 kHz, mono.
    const pcm = resample(audio, 24_000);
    bytes = toPcm16(pcm.samples);
    contentType = SPEECH_MEDIA_TYPES.pcm;
    delivered = "pcm";
    sampleRate = pcm.sampleRate;
  } else if (format !== "wav") {
    const target = CONVERTED[format];
    if (!target) throw new JobError(unsupportedFormatError(`this worker has no "${format}" speech format`), false);
    if (!ffmpegCodecs().encode.includes(target.encoder)) {
      throw new JobError(
        unsupportedFormatError(
          `this worker cannot encode ${format} audio: its ffmpeg has no ${target.encoder} encoder`,
        ),
        false,
      );
    }
    bytes = await ffmpeg(encodeWav(audio), target.args, ctx.signal);
    contentType = target.contentType;
    delivered = format;
  }
  const result: SpeechResult = {
    artifact: RESPONSE_NAME,
    contentType,
    format: delivered,
    requestedFormat: format,
    sampleRate,
    duration: durationSeconds(audio),
    voice: how.voice,
    engine: how.engine,
  };
  return { result, artifacts: [{ name: RESPONSE_NAME, contentType, bytes }] };
}

/**
 * The IPA phonemes espeak-ng gives a text (`-q --ipa`: no audio), one string per clause. Clause punctuation is not
 * part of espeak-ng's phoneme output.
 */
export async function phonemize(text: string, voice: string): Promise<string[]> {
  const lines: string[] = [];
  const errors: string[] = [];
  try {
    await ESpeakNg({
      arguments: ["-q", "--ipa", "-v", voice, "-f", "in.txt"],
      preRun: [(m) => m.FS.writeFile("in.txt", text)],
      print: (line: string) => lines.push(line),
      printErr: (line: string) => errors.push(line),
    });
  } catch (err) {
    const reason = errors.find((l) => l.startsWith("Error:")) ?? (err instanceof Error ? err.message : String(err));
    throw new JobError(`espeak-ng failed to phonemize for voice "${voice}": ${reason}`, false);
  }
  return lines.map((l) => l.trim()).filter((l) => l.length > 0);
}

export const espeakBackend: Backend = {
  async load() {
    // Compiles the WebAssembly once up front, so the first job does not pay for it.
    await synthesize(" ", "en-us", BASE_WPM);
    return {
      async run(input: JobInput, ctx) {
        const text = input.text ?? "";
        const requested = stringOption(input, "voice");
        const voice = espeakVoice(requested);
        const speed = speechSpeed(input);
        const wpm = Math.round(Math.min(450, Math.max(80, BASE_WPM * speed)));
        ctx.signal.throwIfAborted();
        const wav = await synthesize(text, voice, wpm);
        ctx.progress(0.8);
        return deliverSpeech(
          decodeWav(wav),
          { format: stringOption(input, "format"), voice, engine: "espeak-ng", wav },
          ctx,
        );
      },
      async unload() {},
    };
  },
};
