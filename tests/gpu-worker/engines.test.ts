// The real engines, each loaded once: PaddleOCR reads text the test rendered, human finds the people in its own
// sample image, espeak-ng speaks a WAV whose length and loudness fit the text, and whisper.cpp loads a model file the
// test writes (weights set so the decoding is known) and returns that text.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpeg, ffmpegCodecs } from "../../gpu-worker/audio/ffmpeg";
import { decodeWav, durationSeconds, encodeWav, rmsDbfs } from "../../gpu-worker/audio/wav";
import { backend } from "../../gpu-worker/backends";
import { HUMAN_DIR } from "../../gpu-worker/backends/human";
import type { JobInput, LoadContext, LoadedModel, RunContext } from "../../gpu-worker/backends/types";
import { compressionRatio } from "../../gpu-worker/backends/whisper";
import { jobModels, type ModelEntry } from "../../gpu-worker/config";
import { JobError } from "../../gpu-worker/errors";
import { createLog, silentLog } from "../../gpu-worker/log";
import { unsupportedFormatReason } from "../../src/lib/audio/speech-formats";
import { ClassifyResult, DetectResult, OcrResult, SpeechResult, TranscriptResult } from "../../src/lib/jobs/protocol";
import { createScratch, type Scratch } from "../support/scratch";
import { renderText } from "./support/images";
import { writeTinyClassifier } from "./support/tiny-classifier";
import { TINY_PIPER_SAMPLE_RATE, TINY_PIPER_SAMPLES_PER_ID, writeTinyPiperVoice } from "./support/tiny-piper";
import { TINY_WHISPER_TEXT, writeTinyWhisperModel } from "./support/tiny-whisper";

const cpu: LoadContext = { device: "cpu", threads: 2, log: silentLog };
const run = (): RunContext => ({ signal: new AbortController().signal, progress: () => {}, log: silentLog });

function entry(id: string, b: ModelEntry["backend"], extra: Partial<ModelEntry> = {}): ModelEntry {
  return { id, backend: b, vramMiB: 0, keepAliveMs: 0, concurrency: 1, pinned: false, options: {}, ...extra };
}

async function load(e: ModelEntry, ctx = cpu): Promise<LoadedModel> {
  return (await backend(e.backend)).load(e, ctx);
}

/** Which container the bytes are, by their magic: what a player would take them for. */
function audioContainer(bytes: Uint8Array): string {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (ascii(0, 4) === "fLaC") return "flac";
  if (ascii(0, 4) === "OggS" && ascii(28, 36) === "OpusHead") return "opus";
  if (ascii(0, 3) === "ID3" || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe6) === 0xe2)) return "mp3";
  if (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xf6) === 0xf0) return "aac";
  if (ascii(0, 4) === "RIFF") return "wav";
  return "unknown";
}

let scratch: Scratch;
beforeAll(async () => {
  scratch = await createScratch("tessera-gpu-engines");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("OCR (PaddleOCR v4 on onnxruntime-node)", () => {
  it("reads the text of an image the test rendered, with its line box", async () => {
    const model = await load(entry("paddleocr-v4", "paddleocr"));
    const png = await renderText("Invoice 4821 paid in full");
    const out = OcrResult.parse((await model.run({ type: "vision.ocr", bytes: png, options: {} }, run())).result);
    expect(out.text).toBe("Invoice 4821 paid in full");
    expect(out).toMatchObject({ width: 640, height: 140 });
    const [line] = out.lines;
    expect(line?.confidence).toBeGreaterThan(0.9);
    // The text starts 24 px in and sits in the middle band of the image.
    expect(line?.box.x).toBeGreaterThanOrEqual(10);
    expect(line?.box.x).toBeLessThanOrEqual(40);
    expect(line?.box.y).toBeGreaterThan(20);
    expect((line?.box.y ?? 0) + (line?.box.height ?? 0)).toBeLessThan(120);
  });

  it("asks for the CUDA provider on a CUDA worker and falls back to the CPU (logged) without its libraries", async () => {
    const lines: string[] = [];
    const log = { ...silentLog, warn: (msg: string) => lines.push(msg) };
    const model = await load(entry("paddleocr-v4", "paddleocr"), { ...cpu, device: "cuda", log });
    expect(lines.some((l) => l.includes("falling back to the CPU"))).toBe(true);
    const out = OcrResult.parse(
      (await model.run({ type: "vision.ocr", bytes: await renderText("CUDA fallback"), options: {} }, run())).result,
    );
    expect(out.text).toBe("CUDA fallback");
  });

  it("fails an unreadable image for good (not retryable)", async () => {
    const model = await load(entry("paddleocr-v4", "paddleocr"));
    const err = await model
      .run({ type: "vision.ocr", bytes: new Uint8Array([1, 2, 3]), options: {} }, run())
      .catch((e) => e);
    expect(err).toBeInstanceOf(JobError);
    expect(err).toMatchObject({ retryable: false });
  });
});

describe("detection (@vladmandic/human: CenterNet, BlazeFace, MoveNet)", () => {
  it("finds people, faces and a body in the sample image that ships with the library", async () => {
    const model = await load(entry("human-centernet", "human"));
    const image = new Uint8Array(await readFile(join(HUMAN_DIR, "assets", "samples.jpg")));
    const meta = await sharp(image).metadata();
    const out = DetectResult.parse(
      (await model.run({ type: "vision.detect", bytes: image, options: {} }, run())).result,
    );
    expect(out).toMatchObject({ width: meta.width, height: meta.height });
    // samples.jpg is a grid of portraits: CenterNet labels several of them "person", BlazeFace finds faces.
    expect(out.objects.filter((o) => o.label === "person").length).toBeGreaterThanOrEqual(3);
    expect(out.faces.length).toBeGreaterThanOrEqual(1);
    expect(out.bodies.length).toBe(1);
    for (const found of [...out.objects, ...out.faces]) {
      expect(found.box.x).toBeGreaterThanOrEqual(0);
      expect(found.box.x + found.box.width).toBeLessThanOrEqual((meta.width ?? 0) + 1);
    }
    await model.unload();
  });
});

describe("text-to-speech (espeak-ng, WebAssembly)", () => {
  let model: LoadedModel;
  const speak = async (text: string, options: JobInput["options"] = {}) => {
    const out = await model.run({ type: "speech", text, options }, run());
    return { result: SpeechResult.parse(out.result), artifact: out.artifacts?.[0] };
  };
  beforeAll(async () => {
    model = await load(entry("espeak-ng", "espeak-ng"));
  });

  it("speaks a WAV whose duration and loudness fit the text", async () => {
    const { result, artifact } = await speak("The quick brown fox jumps over the lazy dog.", { voice: "af_alloy" });
    expect(artifact).toMatchObject({ name: "speech", contentType: "audio/wav" });
    const audio = decodeWav(artifact?.bytes ?? new Uint8Array());
    const seconds = durationSeconds(audio);
    // Nine words at espeak-ng's 175 words a minute: about three seconds with its pauses.
    expect(seconds).toBeGreaterThan(1.8);
    expect(seconds).toBeLessThan(5);
    expect(result).toMatchObject({ sampleRate: 22_050, format: "wav", voice: "en-us+f3", engine: "espeak-ng" });
    expect(result.duration).toBeCloseTo(seconds, 3);
    // Speech, not silence or clipping noise.
    expect(rmsDbfs(audio.samples)).toBeGreaterThan(-35);
    expect(rmsDbfs(audio.samples)).toBeLessThan(-3);
  });

  it("takes about half as long at speed 2 and twice as long for twice the text", async () => {
    const text = "Tessera turns text into speech on any machine.";
    const base = (await speak(text)).result.duration;
    expect((await speak(text, { speed: 2 })).result.duration).toBeLessThan(base * 0.7);
    expect((await speak(`${text} ${text}`)).result.duration).toBeGreaterThan(base * 1.7);
  });

  it("delivers OpenAI's pcm as raw 16-bit at 24 kHz", async () => {
    const pcm = await speak("pcm please", { format: "pcm" });
    expect(pcm.result).toMatchObject({ format: "pcm", contentType: "audio/pcm", sampleRate: 24_000 });
    expect(pcm.artifact?.bytes.byteLength).toBe(Math.floor(pcm.result.duration * 24_000) * 2);
  });

  it("encodes mp3, opus, aac and flac for real with the ffmpeg the install brings, and they decode back", async () => {
    expect(ffmpegCodecs().source).not.toBe("none");
    for (const [format, contentType] of [
      ["mp3", "audio/mpeg"],
      ["opus", "audio/ogg"],
      ["aac", "audio/aac"],
      ["flac", "audio/flac"],
    ] as const) {
      const { result, artifact } = await speak("Encoded for real.", { format });
      expect(result, format).toMatchObject({ format, requestedFormat: format, contentType });
      const bytes = artifact?.bytes ?? new Uint8Array();
      expect(audioContainer(bytes), format).toBe(format);
      // Back through ffmpeg to WAV: the same speech, not a few bytes of something else.
      const back = decodeWav(await ffmpeg(bytes, ["-f", "wav", "-c:a", "pcm_s16le"]));
      expect(durationSeconds(back), format).toBeCloseTo(result.duration, 0);
      expect(rmsDbfs(back.samples), format).toBeGreaterThan(-35);
    }
  });

  it("fails a format it cannot encode for good, and never hands back another format", async () => {
    const previous = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = join(scratch.dir, "no-such-ffmpeg");
    try {
      expect(ffmpegCodecs().source).toBe("none");
      await expect(speak("hi", { format: "mp3" })).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining("cannot encode mp3"),
      });
      // Marked so that the edge answers the caller 400 (docs/jobs.md "Audio formats").
      const err = await speak("hi", { format: "mp3" }).catch((e: Error) => e);
      expect(unsupportedFormatReason((err as Error).message)).toContain("no libmp3lame encoder");
      // WAV and pcm need no ffmpeg.
      expect((await speak("hi", { format: "wav" })).result.format).toBe("wav");
    } finally {
      if (previous === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = previous;
    }
  });

  it("refuses an unknown voice for good", async () => {
    await expect(speak("hi", { voice: "not a voice!" })).rejects.toMatchObject({ retryable: false });
  });
});

describe("text-to-speech (Piper voice on onnxruntime-node, espeak-ng phonemes)", () => {
  // What espeak-ng (en-us, --ipa) gives "Hello world": the voice the test writes maps each code point to its own id.
  const PHONEMES = Array.from("həlˈoʊ wˈɜːld");
  const voiceMap = [...new Set(PHONEMES)];
  const say = async (path: string, text: string, log = silentLog) => {
    const model = await load(entry("piper-tiny", "piper", { path }));
    try {
      const out = await model.run({ type: "speech", text, options: {} }, { ...run(), log });
      return {
        result: SpeechResult.parse(out.result),
        audio: decodeWav(out.artifacts?.[0]?.bytes ?? new Uint8Array()),
      };
    } finally {
      await model.unload();
    }
  };
  /** The ids the graph saw: it repeats each id a fixed number of times, scaled so the largest is full scale. */
  const idsIn = (samples: Float32Array, maxId: number) =>
    Array.from({ length: samples.length / TINY_PIPER_SAMPLES_PER_ID }, (_, i) =>
      Math.round((samples[i * TINY_PIPER_SAMPLES_PER_ID] ?? 0) * maxId),
    );

  it("phonemizes with espeak-ng, feeds Piper's id sequence to the model and writes a WAV at the voice's rate", async () => {
    const path = await writeTinyPiperVoice(join(scratch.dir, "piper"), "tiny-voice", voiceMap);
    const { result, audio } = await say(path, "Hello world");
    // BOS, each phoneme's id then PAD, EOS.
    const expected = [1, ...PHONEMES.flatMap((p) => [voiceMap.indexOf(p) + 3, 0]), 2];
    expect(audio.sampleRate).toBe(TINY_PIPER_SAMPLE_RATE);
    expect(audio.samples.length).toBe(expected.length * TINY_PIPER_SAMPLES_PER_ID);
    expect(idsIn(audio.samples, Math.max(...expected))).toEqual(expected);
    expect(result).toMatchObject({
      engine: "piper",
      voice: "tiny-voice",
      sampleRate: TINY_PIPER_SAMPLE_RATE,
      format: "wav",
    });
    expect(result.duration).toBeCloseTo(audio.samples.length / TINY_PIPER_SAMPLE_RATE, 6);
  });

  it("skips a phoneme the voice's map lacks and logs it", async () => {
    const path = await writeTinyPiperVoice(
      join(scratch.dir, "piper-partial"),
      "partial",
      voiceMap.filter((p) => p !== "ɜ"),
    );
    const lines: string[] = [];
    const { audio } = await say(
      path,
      "Hello world",
      createLog("warn", (l) => lines.push(l)),
    );
    expect(audio.samples.length).toBe((2 + 2 * (PHONEMES.length - 1)) * TINY_PIPER_SAMPLES_PER_ID);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ skipped: ["ɜ"] }));
  });

  it("runs speech jobs only once its files are provisioned; espeak-ng serves them until then", async () => {
    const espeak = entry("espeak-ng", "espeak-ng");
    const missing = entry("piper-x", "piper", { path: join(scratch.dir, "nowhere.onnx"), replaces: "espeak-ng" });
    expect(jobModels([espeak, missing]).get("espeak-ng")).toBe(espeak);
    const path = await writeTinyPiperVoice(join(scratch.dir, "piper-route"), "route", voiceMap);
    const provisioned = { ...missing, path };
    expect(jobModels([espeak, provisioned]).get("espeak-ng")).toBe(provisioned);
    await expect(load(missing)).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/not provisioned/),
    });
  });
});

describe("speech-to-text (whisper.cpp through @fugood/whisper.node)", () => {
  it("loads a ggml model file written by the test and returns the text its weights decode to", async () => {
    const file = await writeTinyWhisperModel(join(scratch.dir, "ggml-tiny-test.bin"));
    const model = await load(entry("whisper-large-v3-ggml", "whisper.cpp", { path: file }));
    // Real audio in: a spoken sentence from espeak-ng, resampled from 22.05 kHz to Whisper's 16 kHz on the way.
    const speech = await (await load(entry("espeak-ng", "espeak-ng"))).run(
      { type: "speech", text: "Anything at all", options: {} },
      run(),
    );
    const wav = speech.artifacts?.[0]?.bytes ?? new Uint8Array();
    const progress: number[] = [];
    const out = TranscriptResult.parse(
      (
        await model.run(
          { type: "transcribe", bytes: wav, mediaType: "audio/wav", options: {} },
          { ...run(), progress: (p) => progress.push(p) },
        )
      ).result,
    );
    expect(out.text).toBe(TINY_WHISPER_TEXT);
    expect(out.language).toBe("en");
    expect(out.duration).toBeCloseTo(durationSeconds(decodeWav(wav)), 2);
    expect(out.segments).toEqual([
      { start: 0, end: out.duration, text: TINY_WHISPER_TEXT, compression_ratio: compressionRatio(TINY_WHISPER_TEXT) },
    ]);
    await model.unload();
  });

  it("gives word timestamps when the job asks for them (timestampGranularities: word)", async () => {
    const file = await writeTinyWhisperModel(join(scratch.dir, "ggml-tiny-words.bin"));
    const model = await load(entry("whisper-large-v3-ggml", "whisper.cpp", { path: file }));
    const wav = encodeWav({ sampleRate: 16_000, samples: new Float32Array(16_000 * 3).fill(0.05) });
    const options = { timestampGranularities: ["segment", "word"], temperature: 0 };
    const out = TranscriptResult.parse(
      (await model.run({ type: "transcribe", bytes: wav, mediaType: "audio/wav", options }, run())).result,
    );
    expect(out.text).toBe(TINY_WHISPER_TEXT);
    expect(out.words?.map((w) => w.word)).toEqual(["Hello", "from", "Tessera."]);
    expect(out.segments).toEqual([
      { start: 0, end: 3, text: TINY_WHISPER_TEXT, compression_ratio: compressionRatio(TINY_WHISPER_TEXT) },
    ]);
    for (const w of out.words ?? []) expect(w.end).toBeGreaterThanOrEqual(w.start);
    await model.unload();
  });

  it("fails at once, for good, naming what to provision when no model file is there", async () => {
    const missing = join(scratch.dir, "ggml-large-v3.bin");
    const err = await load(entry("whisper-large-v3-ggml", "whisper.cpp", { path: missing })).catch((e) => e);
    expect(err).toBeInstanceOf(JobError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(missing);
    expect(err.message).toContain("npm run models:fetch");
  });

  it("decodes WAV natively, and mp3 through the bundled ffmpeg", async () => {
    const file = await writeTinyWhisperModel(join(scratch.dir, "ggml-tiny-test-2.bin"));
    const model = await load(entry("whisper-large-v3-ggml", "whisper.cpp", { path: file }));
    const stereo24k = encodeWav({ sampleRate: 24_000, samples: new Float32Array(24_000).fill(0.1) });
    const ok = await model.run({ type: "transcribe", bytes: stereo24k, mediaType: "audio/wav", options: {} }, run());
    expect(TranscriptResult.parse(ok.result).duration).toBeCloseTo(1, 2);
    const mp3 = await ffmpeg(stereo24k, ["-f", "mp3", "-codec:a", "libmp3lame"]);
    const fromMp3 = await model.run({ type: "transcribe", bytes: mp3, mediaType: "audio/mpeg", options: {} }, run());
    const transcript = TranscriptResult.parse(fromMp3.result);
    expect(transcript.text).toBe(TINY_WHISPER_TEXT);
    // mp3 frames pad the end: about the same second, not exactly.
    expect(transcript.duration).toBeCloseTo(1, 0);
    expect(transcript.segments[0]?.compression_ratio).toBeGreaterThan(0);
    const garbage = model.run(
      { type: "transcribe", bytes: new Uint8Array(64), mediaType: "audio/mpeg", options: {} },
      run(),
    );
    await expect(garbage).rejects.toBeDefined();
    await model.unload();
  });
});

describe("classification (@huggingface/transformers on onnxruntime-node, local model directory)", () => {
  const solid = async (background: { r: number; g: number; b: number }) =>
    new Uint8Array(
      await sharp({ create: { width: 64, height: 48, channels: 3, background } })
        .png()
        .toBuffer(),
    );

  it("runs the real pipeline on a model directory the test writes, and ranks the labels its weights imply", async () => {
    const dir = await writeTinyClassifier(scratch.dir);
    const model = await load(entry("vit-base-patch16-224", "transformers", { path: dir, options: { topK: 5 } }));
    const classify = async (bytes: Uint8Array) =>
      ClassifyResult.parse((await model.run({ type: "vision.classify", bytes, options: {} }, run())).result);
    const red = await classify(await solid({ r: 220, g: 20, b: 30 }));
    expect(red.labels.map((l) => l.label)).toEqual(["red", "blue"]);
    expect(red.labels[0]?.score).toBeGreaterThan(0.9);
    const blue = await classify(await solid({ r: 10, g: 30, b: 240 }));
    expect(blue.labels[0]).toMatchObject({ label: "blue" });
    const top1 = ClassifyResult.parse(
      (
        await model.run(
          { type: "vision.classify", bytes: await solid({ r: 200, g: 0, b: 0 }), options: { topK: 1 } },
          run(),
        )
      ).result,
    );
    expect(top1.labels).toHaveLength(1);
    await model.unload();
  });

  it("fails at once, for good, naming the directory to provision when it is missing", async () => {
    const missing = join(scratch.dir, "vit-base-patch16-224");
    const err = await load(entry("vit-base-patch16-224", "transformers", { path: missing })).catch((e) => e);
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain(missing);
  });
});
