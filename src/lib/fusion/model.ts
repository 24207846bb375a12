// Multimodal fusion's request and result (docs/fusion.md). A request is a list of inputs of any modality; the
// result holds each modality's findings, the connections between them, and (when a chat model answers) a summary.
import { z } from "zod";

export const FUSION_LIMITS = {
  /** Inputs in one request. */
  maxInputs: 8,
  /** Characters of one text input. */
  maxTextChars: 20_000,
  /** How long a fusion may take before its unfinished modalities are reported as failed. */
  timeoutMs: 5 * 60_000,
  /** Characters of evidence per modality handed to synthesis (the prompt stays small whatever the inputs). */
  evidenceChars: 2_000,
} as const;

const Bytes = { base64: z.string().min(1), mediaType: z.string().min(1).max(128) };
/** Which readings of an image to run; all three unless named. */
const Analyses = z
  .array(z.enum(["ocr", "detect", "classify"]))
  .min(1)
  .max(3)
  .optional();

export const FusionInput = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("text"),
      text: z.string().min(1).max(FUSION_LIMITS.maxTextChars),
      name: z.string().max(128).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("image"),
      ...Bytes,
      name: z.string().max(128).optional(),
      analyses: Analyses,
    })
    .strict(),
  z.object({ type: z.literal("audio"), ...Bytes, name: z.string().max(128).optional() }).strict(),
  z.object({ type: z.literal("document"), ...Bytes, name: z.string().max(255).optional() }).strict(),
  z
    .object({
      type: z.literal("file"),
      fileId: z.uuid(),
      analyses: Analyses,
    })
    .strict(),
]);
export type FusionInput = z.infer<typeof FusionInput>;

export const FusionRequest = z
  .object({
    inputs: z.array(FusionInput).min(1).max(FUSION_LIMITS.maxInputs),
    /** What the caller wants to know; synthesis answers it from the evidence. */
    question: z.string().max(2_000).optional(),
    /** The LLM router alias that synthesizes; without one (or without a route for it) synthesis is skipped. */
    model: z.string().min(1).max(128).optional(),
  })
  .strict();
export type FusionRequest = z.infer<typeof FusionRequest>;

const MODALITIES = ["text", "image", "audio", "document"] as const;
export type Modality = (typeof MODALITIES)[number];

/** One piece of evidence: a word or phrase, where it was found, and how sure the engine was. */
export const Finding = z.object({
  kind: z.enum(["text", "spoken", "written", "object", "label", "heading", "table"]),
  text: z.string(),
  /** Where: a page or slide, a time span in seconds, a box in pixels. */
  at: z
    .object({
      part: z.string().optional(),
      start: z.number().optional(),
      end: z.number().optional(),
      box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }).optional(),
    })
    .optional(),
  confidence: z.number().min(0).max(1),
});
export type Finding = z.infer<typeof Finding>;

export const ModalityResult = z.object({
  /** The input's position in the request (0-based), so connections can name it. */
  input: z.number().int(),
  type: z.enum(MODALITIES),
  source: z.string(),
  status: z.enum(["ok", "failed"]),
  error: z.string().optional(),
  findings: z.array(Finding),
  confidence: z.number().min(0).max(1),
});
export type ModalityResult = z.infer<typeof ModalityResult>;

export const CONNECTION_KINDS = ["same_entity", "temporal", "supports", "contradicts"] as const;

export const Connection = z.object({
  from: z.number().int().describe("An input index"),
  to: z.number().int(),
  kind: z.enum(CONNECTION_KINDS),
  evidence: z.string(),
  /** `rule`: found by Tessera's own matching; `model`: proposed by synthesis. */
  by: z.enum(["rule", "model"]),
});
export type Connection = z.infer<typeof Connection>;

export const FusionResult = z.object({
  id: z.string(),
  status: z.enum(["running", "completed", "partial"]),
  modalities: z.array(ModalityResult),
  summary: z.string().nullable(),
  entities: z.array(z.object({ name: z.string(), inputs: z.array(z.number().int()) })),
  connections: z.array(Connection),
  confidence: z.number().min(0).max(1),
  synthesis: z.object({
    status: z.enum(["done", "skipped", "failed"]),
    model: z.string().optional(),
    reason: z.string().optional(),
  }),
  timings: z.object({ totalMs: z.number(), jobsMs: z.number(), synthesisMs: z.number() }),
});
export type FusionResult = z.infer<typeof FusionResult>;
