// A search request as the API takes it (POST /v1/searches), its limits, and what a stored search looks like.
import { z } from "zod";
import { ALGORITHMS } from "./search";

/** Every limit a search request is held to (docs/orchestration.md). */
export const SEARCH_LIMITS = {
  maxNodes: 512,
  maxTokens: 2_000_000,
  maxSeconds: 3600,
  maxModels: 8,
  maxTaskChars: 32_768,
  maxAnswerChars: 65_536,
  maxPatternChars: 1000,
  maxAsksPerCall: 16,
  /** Score history entries kept (each a new best, so rarely more than a handful). */
  maxHistory: 200,
} as const;

const Model = z.string().min(1).max(128);

export const Scorer = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("exact"),
    expected: z.string().max(SEARCH_LIMITS.maxAnswerChars),
    /** Compare ignoring case. */
    ignoreCase: z.boolean().default(false),
  }),
  z.object({
    type: z.literal("regex"),
    pattern: z.string().min(1).max(SEARCH_LIMITS.maxPatternChars),
    flags: z
      .string()
      .regex(/^[imsu]*$/, "flags are a subset of i, m, s, u")
      .default(""),
  }),
  z.object({ type: z.literal("json-schema"), schema: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("llm-judge"), model: Model, rubric: z.string().min(1).max(8192) }),
  z.object({ type: z.literal("webhook"), url: z.string().url().max(2048) }),
  /** The caller scores every answer itself (external mode only). */
  z.object({ type: z.literal("caller") }),
]);
export type Scorer = z.infer<typeof Scorer>;

export const SearchRequest = z
  .object({
    task: z.string().min(1).max(SEARCH_LIMITS.maxTaskChars),
    models: z
      .array(Model)
      .min(1, "at least one model")
      .max(SEARCH_LIMITS.maxModels)
      .refine((m) => new Set(m).size === m.length, "models must differ"),
    algorithm: z.enum(ALGORITHMS),
    scorer: Scorer,
    budget: z.object({
      nodes: z.number().int().min(1).max(SEARCH_LIMITS.maxNodes),
      tokens: z.number().int().min(1).max(SEARCH_LIMITS.maxTokens).optional(),
      seconds: z.number().int().min(1).max(SEARCH_LIMITS.maxSeconds).optional(),
    }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    /** `managed`: Tessera generates through the LLM router; `external`: the caller asks and tells. */
    mode: z.enum(["managed", "external"]).default("managed"),
    /** AB-MCTS-A's posterior family. */
    posterior: z.enum(["gaussian", "beta"]).optional(),
    /** The search stops once an answer scores at least this (1 = only a perfect answer stops it early). */
    stopAtScore: z.number().min(0).max(1).default(1),
  })
  .superRefine((req, ctx) => {
    if (req.scorer.type === "caller" && req.mode !== "external") {
      ctx.addIssue({ code: "custom", path: ["scorer"], message: "a caller scorer needs mode external" });
    }
  });
export type SearchRequest = z.infer<typeof SearchRequest>;

type SearchStatus = "running" | "done" | "cancelled";

/** A search's own record, beside the algorithm's state. */
export interface SearchRecord {
  id: string;
  owner: string;
  request: SearchRequest;
  status: SearchStatus;
  /** Why it stopped: budget, score, deadline, tokens, cancelled. */
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  tokensUsed: number;
  /** Each new best score: the node, its score, when. */
  history: { node: number; score: number; at: number }[];
  /** The webhook scorer's signing secret (`whsec_…`), shown once at creation. */
  webhookSecret: string | null;
}
