// The GPU job types: one entry each (adding a type is adding an entry). The board schedules by an entry's
// model and VRAM estimate; the routes validate a submission's input against its accepted kinds.
type JobLane = "interactive" | "batch";
type InputKind = "text" | "bytes";

interface JobTypeSpec {
  /** The model a GPU worker loads for it (docs/jobs.md). */
  model: string;
  /** What the model needs in GPU memory, in MiB; a worker with less free (and the model not loaded) never gets it. */
  vramMiB: number;
  /** `text` for `{text}` input, `bytes` for `{base64, mediaType}`. */
  input: InputKind;
  /** Media types accepted for `bytes` input; empty for `text`. */
  mediaTypes: readonly string[];
  /** Largest `text` input in characters (text types only). */
  maxTextChars?: number;
  lane: JobLane;
}

const AUDIO = ["audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/webm", "audio/flac"];
const IMAGE = ["image/png", "image/jpeg", "image/webp"];

export const JOB_TYPES = {
  transcribe: { model: "whisper-large-v3-ggml", vramMiB: 4096, input: "bytes", mediaTypes: AUDIO, lane: "interactive" },
  speech: {
    model: "espeak-ng",
    vramMiB: 0,
    input: "text",
    mediaTypes: [],
    maxTextChars: 4096,
    lane: "interactive",
  },
  "vision.ocr": { model: "paddleocr-v4", vramMiB: 1024, input: "bytes", mediaTypes: IMAGE, lane: "batch" },
  "vision.detect": { model: "human-centernet", vramMiB: 1536, input: "bytes", mediaTypes: IMAGE, lane: "batch" },
  "vision.classify": { model: "vit-base-patch16-224", vramMiB: 1024, input: "bytes", mediaTypes: IMAGE, lane: "batch" },
  // pdf.js itself needs no GPU memory; the estimate is the OCR model that scanned pages load.
  "document.extract": { model: "pdfjs", vramMiB: 1024, input: "bytes", mediaTypes: ["application/pdf"], lane: "batch" },
  // The local LLM provider (docs/llm.md "The local provider"): a GGUF on llama.cpp. The estimates are a 0.5B
  // instruct model at Q4_K_M with a 4k context, and a small embedding model; a bigger GGUF needs its models-file
  // entry's vramMiB raised, which the worker's ledger then charges.
  "llm.chat": {
    model: "llm-chat-gguf",
    vramMiB: 1024,
    input: "text",
    mediaTypes: [],
    maxTextChars: 32_768,
    lane: "interactive",
  },
  "llm.embed": {
    model: "llm-embed-gguf",
    vramMiB: 512,
    input: "text",
    mediaTypes: [],
    maxTextChars: 32_768,
    lane: "interactive",
  },
} as const satisfies Record<string, JobTypeSpec>;

export type JobType = keyof typeof JOB_TYPES;
export const JOB_TYPE_NAMES = Object.keys(JOB_TYPES) as [JobType, ...JobType[]];

export function jobTypeSpec(type: JobType): JobTypeSpec {
  return JOB_TYPES[type];
}
