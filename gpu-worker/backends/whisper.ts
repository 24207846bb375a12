// Speech-to-text (and translation to English) with whisper.cpp through @fugood/whisper.node (prebuilt CPU, CUDA and Vulkan variants). No package
// ships Whisper weights: the model file must be provisioned (`npm run models:fetch`, or a path in the models file).
import { deflateSync } from "node:zlib";
import { initWhisper, type WhisperContext } from "@fugood/whisper.node";
import type { TranscriptResult } from "../../src/lib/jobs/protocol";
import { decodeAudio } from "../audio/decode";
import { durationSeconds, toPcm16 } from "../audio/wav";
import { JobError } from "../errors";
import { findModelFile } from "./model-file";
import { type Backend, type LoadContext, numberOption, requireBytes, stringOption } from "./types";

export async function loadWhisper(filePath: string, ctx: LoadContext): Promise<WhisperContext> {
  const gpu = ctx.device === "cuda";
  try {
    return await initWhisper({ filePath, useGpu: gpu }, gpu ? "cuda" : "default");
  } catch (err) {
    if (!gpu) throw err;
    ctx.log.warn("whisper.cpp's CUDA build did not load, falling back to the CPU build", {
      error: err instanceof Error ? err.message : String(err),
      hint: "the CUDA variant needs libcudart and libcublas 12 on the host",
    });
    return initWhisper({ filePath, useGpu: false }, "default");
  }
}

/** Whisper's repetition measure, as OpenAI reports it: the text's bytes over its zlib-compressed bytes. */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, "utf8");
  return bytes.byteLength === 0 ? 0 : bytes.byteLength / deflateSync(bytes).byteLength;
}

/** One-word segments as words: punctuation whisper.cpp split off joins the word before it. */
export function joinPunctuation(pieces: { start: number; end: number; text: string }[]) {
  const out: { start: number; end: number; text: string }[] = [];
  for (const p of pieces) {
    const last = out.at(-1);
    if (!p.text) continue;
    if (last && /^[.,!?;:%)\]}"']+$/.test(p.text))
      out[out.length - 1] = { ...last, end: p.end, text: last.text + p.text };
    else out.push({ ...p });
  }
  return out;
}

/** Words back into segments: a segment ends after a word that ends a sentence. */
export function sentences(words: { start: number; end: number; text: string }[]) {
  const out: { start: number; end: number; text: string }[] = [];
  let current: { start: number; end: number; text: string } | undefined;
  for (const w of words) {
    if (!w.text) continue;
    current = current ? { ...current, end: w.end, text: `${current.text} ${w.text}` } : { ...w };
    if (/[.!?]$/.test(w.text)) {
      out.push(current);
      current = undefined;
    }
  }
  if (current) out.push(current);
  return out;
}

export const whisperBackend: Backend = {
  async load(entry, ctx) {
    const file = findModelFile(
      entry.id,
      entry.path,
      entry.options.fallbackPaths,
      "transcription needs a whisper.cpp ggml model file",
      "run `npm run models:fetch` on a machine with internet, or point the models file's path at a ggml-*.bin",
    );
    const whisper = await loadWhisper(file, ctx);
    const threads = ctx.threads || undefined;
    return {
      async run(input, run) {
        const audio = await decodeAudio(requireBytes(input), input.mediaType ?? "audio", run.signal);
        run.signal.throwIfAborted();
        const pcm = toPcm16(audio.samples);
        const language = stringOption(input, "language");
        const prompt = stringOption(input, "prompt");
        const temperature = numberOption(input, "temperature") ?? 0;
        const granularities = input.options.timestampGranularities;
        const words = Array.isArray(granularities) && granularities.includes("word");
        // No language: whisper.cpp's default (English models) or, with "auto", detection (multilingual models).
        const translate = stringOption(input, "task") === "translate";
        const job = whisper.transcribeData(pcm.buffer as ArrayBuffer, {
          ...(language ? { language } : {}),
          // OpenAI's /audio/translations: whisper's translate task, whatever was spoken into English.
          ...(translate ? { translate: true } : {}),
          ...(prompt ? { prompt } : {}),
          // Word timestamps: whisper.cpp's token timestamps with one word per segment, regrouped below.
          ...(words ? { tokenTimestamps: true, maxLen: 1 } : {}),
          maxThreads: threads,
          temperature,
          onProgress: (p) => run.progress(Math.max(0, Math.min(1, p / 100))),
        });
        const stop = () => void job.stop();
        run.signal.addEventListener("abort", stop, { once: true });
        try {
          const out = await job.promise;
          if (out.isAborted) throw new JobError("transcription stopped", true);
          const duration = durationSeconds(audio);
          // A segment without a closing timestamp ends at its 30 s window's end: clip it to the audio.
          const at = (ms: number) => Math.min(duration, ms / 1000);
          const raw = out.segments.map((s) => ({ start: at(s.t0), end: at(s.t1), text: s.text.trim() }));
          const pieces = words ? joinPunctuation(raw) : raw;
          const segments = (words ? sentences(pieces) : pieces).map((s) => ({
            ...s,
            compression_ratio: compressionRatio(s.text),
          }));
          const result: TranscriptResult = {
            text: out.result.trim(),
            language: out.language ?? language,
            duration,
            segments,
          };
          if (words) result.words = pieces.map((p) => ({ word: p.text, start: p.start, end: p.end }));
          return { result };
        } finally {
          run.signal.removeEventListener("abort", stop);
        }
      },
      unload: () => whisper.release(),
    };
  },
};
