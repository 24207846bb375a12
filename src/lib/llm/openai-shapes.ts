// OpenAI's chat and embeddings shapes (the subset Tessera serves), validated with zod: requests in, responses out.
// Unknown request fields are dropped, not refused, so newer SDKs keep working.
import { z } from "zod";
import { TASKS } from "./tuning";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });
const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({
    // An https URL or a data: URL; the provider fetches or decodes it, Tessera never does.
    url: z.string().min(1),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
const ContentPart = z.discriminatedUnion("type", [TextPart, ImagePart]);

const ToolCall = z.object({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const Content = z.union([z.string(), z.array(ContentPart).min(1)]);

export const ChatMessage = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal("developer"), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal("user"), content: Content, name: z.string().optional() }),
  z.object({
    role: z.literal("assistant"),
    content: Content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(ToolCall).optional(),
  }),
  z.object({ role: z.literal("tool"), content: Content, tool_call_id: z.string() }),
]);
export type ChatMessage = z.infer<typeof ChatMessage>;

const JsonObject = z.record(z.string(), z.unknown());

const ResponseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: JsonObject.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const Tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    parameters: JsonObject.optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
]);

/** Tessera's own extension: `{"params": "auto", "task": "code_generation"}` lets the tuner pick the sampling. */
const TesseraOptions = z
  .object({
    params: z.enum(["auto", "fixed"]).default("fixed"),
    task: z.enum(TASKS).optional(),
  })
  .strict();

export const ChatCompletionRequest = z.object({
  model: z.string().min(1).max(256),
  messages: z.array(ChatMessage).min(1).max(4096),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  seed: z.number().int().nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  n: z.literal(1).nullable().optional(),
  response_format: ResponseFormat.optional(),
  tools: z.array(Tool).max(128).optional(),
  tool_choice: ToolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  user: z.string().max(256).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  tessera: TesseraOptions.optional(),
});
export type ChatCompletionRequest = z.input<typeof ChatCompletionRequest>;
export type ParsedChatRequest = z.output<typeof ChatCompletionRequest>;

export const EmbeddingRequest = z.object({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().max(256).optional(),
});
export type EmbeddingRequest = z.output<typeof EmbeddingRequest>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface ChatChoice {
  index: number;
  message: {
    role: "assistant";
    content: string | null;
    tool_calls?: z.infer<typeof ToolCall>[];
    refusal?: string | null;
  };
  finish_reason: string | null;
  logprobs?: null;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatChoice[];
  usage: Usage;
  system_fingerprint?: string | null;
}

interface ChunkDelta {
  role?: "assistant";
  content?: string | null;
  tool_calls?: { index: number; id?: string; type?: "function"; function?: { name?: string; arguments?: string } }[];
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: { index: number; delta: ChunkDelta; finish_reason: string | null }[];
  usage?: Usage | null;
}

export interface EmbeddingResponse {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** The sampling parameters the router and the tuner read and set. */
const SAMPLING_KEYS = ["temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty"] as const;
export type SamplingParams = Partial<Record<(typeof SAMPLING_KEYS)[number], number>>;

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
