// The GPU job protocol shared by the edge and the GPU worker (docs/jobs.md): zod schemas only.
// The GPU worker imports this file, so it imports nothing but zod and the zod-free job-type registry.
import { z } from "zod";
import { JOB_TYPE_NAMES } from "./types";

// ---- GPU jobs (docs/jobs.md; the contract: docs/architecture.md) ----

/** Every GPU worker credential starts with this, so one is never mistaken for a user token. */
export const WORKER_SECRET_PREFIX = "tgw_";

export const JOB_LIMITS = {
  /** Attempts (leases) a job gets before it is dead-lettered. */
  maxAttempts: 3,
  /** Backoff after a failed attempt n: base × 2^(n-1), capped. */
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
  /** A batch job ready this long is served like an interactive one, so a flood of interactive jobs cannot starve it. */
  batchPromotionMs: 30_000,
  /** The longest a lease call may wait for work (long-poll). */
  maxLeaseWaitMs: 25_000,
  /** How long a lease's signed input URL works. */
  inputUrlTtlMs: 5 * 60_000,
  /** `{url}` input: how long the edge waits for the download, and how many redirects it follows. */
  inputUrlTimeoutMs: 10_000,
  inputUrlMaxRedirects: 3,
  /** Jobs one lease call may take. */
  maxLeaseBatch: 8,
  /** Jobs per page of a list. */
  pageSize: 50,
  /** A result's JSON, stored in the board's SQLite row. */
  maxResultBytes: 256 * 1024,
  /** An error message, truncated to this. */
  maxErrorChars: 2_000,
  /** Decoded input bytes (base64 JSON submissions). */
  maxInputBytes: 8 * 1024 * 1024,
  /** One artifact a worker uploads. */
  maxArtifactBytes: 32 * 1024 * 1024,
} as const;

export const JobTypeName = z.enum(JOB_TYPE_NAMES);
export const JobStatus = z.enum(["queued", "running", "completed", "failed", "cancelled", "dead"]);
export type JobStatus = z.infer<typeof JobStatus>;
const JobLaneName = z.enum(["interactive", "batch"]);

/** Where a job's input is: inline text, or bytes stored in R2 under `jobs/`. */
export const JobInputRef = z.union([
  z.object({ text: z.string() }),
  z.object({ r2Key: z.string().min(1).max(512), mediaType: z.string().min(1).max(128), bytes: z.number().int() }),
]);
export type JobInputRef = z.infer<typeof JobInputRef>;

// JSON, not unknown: these cross Durable Object RPC, whose types only carry serialisable values.
const JobOptions = z.record(z.string(), z.json());

/** What the board is told to enqueue (also the body of a `gpu.job` queue message). */
export const JobSpec = z.object({
  id: z.string().min(1).max(128),
  owner: z.string().min(1).max(128),
  type: JobTypeName,
  lane: JobLaneName.optional(),
  input: JobInputRef,
  options: JobOptions.default({}),
});
export type JobSpec = z.input<typeof JobSpec>;

/**
 * A message on the GPU_JOBS queue: a health ping, a job for the board, or a large file whose text is to be
 * indexed (docs/files.md; the sha256 is the content that was uploaded, so a newer upload is never overwritten).
 */
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("health.ping"), sentAt: z.number().int() }),
  z.object({ kind: z.literal("gpu.job"), job: JobSpec }),
  z.object({
    kind: z.literal("files.index"),
    userId: z.uuid(),
    fileId: z.uuid(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  // A PDF's extraction for the file index: polled with growing delays until its job ends (docs/documents.md).
  z.object({
    kind: z.literal("documents.collect"),
    userId: z.uuid(),
    fileId: z.uuid(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    jobId: z.string().min(1).max(128),
    polls: z.number().int().min(0),
  }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;

/** A job as its owner sees it. */
export const JobRecord = z.object({
  id: z.string(),
  type: JobTypeName,
  status: JobStatus,
  progress: z.number().min(0).max(1),
  result: z.json().optional(),
  error: z.string().optional(),
  attempts: z.number().int(),
  createdAt: z.string().describe("RFC 3339"),
  updatedAt: z.string().describe("RFC 3339"),
});
export type JobRecord = z.infer<typeof JobRecord>;

/** What a GPU worker reports when it asks for work. */
export const GpuWorkerState = z.object({
  freeVramMiB: z.number().int().nonnegative(),
  loadedModels: z.array(z.string().max(128)).max(32).default([]),
  max: z.number().int().min(1).max(JOB_LIMITS.maxLeaseBatch).default(1),
  /** The job types this worker runs; it is never handed another. Absent: every type. */
  types: z.array(JobTypeName).min(1).optional(),
  /** Long-poll: when nothing fits now, wait up to this long for a job before answering an empty list. */
  waitMs: z.number().int().min(0).max(JOB_LIMITS.maxLeaseWaitMs).default(0),
});
export type GpuWorkerState = z.input<typeof GpuWorkerState>;

/** One job handed to a worker. */
export const JobLease = z.object({
  jobId: z.string(),
  leaseId: z.string(),
  leaseDeadline: z.number().int().describe("Epoch ms; heartbeat before it"),
  attempt: z.number().int(),
  type: JobTypeName,
  model: z.string(),
  input: JobInputRef,
  /** For byte input: a short-lived signed URL that downloads it without the worker's credential. */
  inputUrl: z.string().url().optional(),
  options: JobOptions,
});
export type JobLease = z.infer<typeof JobLease>;

export const JobHeartbeat = z.object({
  leaseId: z.string().min(1).max(128),
  progress: z.number().min(0).max(1).optional(),
});
export const JobRelease = z.object({ leaseId: z.string().min(1).max(128) });
export const JobComplete = z.object({ leaseId: z.string().min(1).max(128), result: z.json() });
/**
 * Text a running job has produced so far (llm.chat's tokens), in order: the board hands it to whoever waits on the
 * job's output (docs/llm.md "Streaming from the GPU worker"). `cancel` in the answer means stop, as in a heartbeat.
 */
export const JobOutput = z.object({
  leaseId: z.string().min(1).max(128),
  pieces: z.array(z.string().max(JOB_LIMITS.maxResultBytes)).min(1).max(4096),
});
export const JobFail = z.object({
  leaseId: z.string().min(1).max(128),
  error: z.string().min(1).max(JOB_LIMITS.maxErrorChars),
  retryable: z.boolean(),
});

/** Job events on the owner's `user:<id>` hub room. */
export const JobEventName = z.enum([
  "job.queued",
  "job.started",
  "job.progress",
  "job.completed",
  "job.failed",
  "job.cancelled",
]);
export type JobEventName = z.infer<typeof JobEventName>;

/** A JSON value (a job's options and result). */
export type JsonValue = z.infer<ReturnType<typeof z.json>>;

// ---- GPU job results (what the GPU worker completes each type with; docs/jobs.md "Results") ----

/** `transcribe`: `{text, language?, duration?, segments}` in seconds (the OpenAI formats are built from it). */
export { TranscriptResult } from "../audio/transcript-formats";

/** `speech`: the audio is the artifact it names; the rest describes it truthfully. */
export const SpeechResult = z.object({
  artifact: z.string(),
  /** The artifact's media type: audio/wav unless a converter produced the requested format. */
  contentType: z.string(),
  /** The format delivered, and the one asked for (they differ when no converter was available). */
  format: z.string(),
  requestedFormat: z.string(),
  sampleRate: z.number().int().positive(),
  /** Seconds of audio. */
  duration: z.number().nonnegative(),
  voice: z.string(),
  engine: z.string(),
});
export type SpeechResult = z.infer<typeof SpeechResult>;

/** An axis-aligned box in the input image's pixels. */
export const ImageBox = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export type ImageBox = z.infer<typeof ImageBox>;

/** `vision.ocr`: the text read, top to bottom, and each line with its confidence and box. */
export const OcrResult = z.object({
  text: z.string(),
  lines: z.array(z.object({ text: z.string(), confidence: z.number().min(0).max(1), box: ImageBox })),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type OcrResult = z.infer<typeof OcrResult>;

const Detection = z.object({ label: z.string(), score: z.number().min(0).max(1), box: ImageBox });

/** `vision.detect`: COCO objects, faces and people (bodies), each with a score and a box. */
export const DetectResult = z.object({
  objects: z.array(Detection),
  faces: z.array(Detection),
  bodies: z.array(Detection),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type DetectResult = z.infer<typeof DetectResult>;

/** `vision.classify`: the top labels, best first. */
export const ClassifyResult = z.object({
  labels: z.array(z.object({ label: z.string(), score: z.number().min(0).max(1) })),
});
export type ClassifyResult = z.infer<typeof ClassifyResult>;

/** `document.extract`: the document is the artifact it names (src/lib/documents/model.ts); this describes it. */
export const DocumentExtractResult = z.object({
  artifact: z.string(),
  format: z.literal("pdf"),
  /** Pages in the file (parts read may be fewer: see `truncated`). */
  pages: z.number().int().nonnegative(),
  truncated: z.boolean(),
  stats: z.object({ parts: z.number().int(), characters: z.number().int(), ocrParts: z.number().int() }),
});
export type DocumentExtractResult = z.infer<typeof DocumentExtractResult>;

/** `llm.chat`: the whole answer (its pieces were streamed as they came); token counts are llama.cpp's. */
export const LlmChatResult = z.object({
  content: z.string(),
  finishReason: z.enum(["stop", "length"]),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});
export type LlmChatResult = z.infer<typeof LlmChatResult>;

/**
 * `llm.embed`: the vectors are the artifact it names, `count` × `dimensions` little-endian float32 (a JSON result
 * would hold only a few large vectors under maxResultBytes).
 */
export const LlmEmbedResult = z.object({
  artifact: z.string(),
  count: z.number().int().positive(),
  dimensions: z.number().int().positive(),
  promptTokens: z.number().int().nonnegative(),
});
export type LlmEmbedResult = z.infer<typeof LlmEmbedResult>;

/** The GPU worker reads the registry (which model serves which type) through this file, its one import from src/lib. */
export { JOB_TYPES } from "./types";
export type JobTypeName = z.infer<typeof JobTypeName>;
