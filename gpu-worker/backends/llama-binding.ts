// @fugood/llama.node, loaded with require: the package ships its TypeScript sources without declarations, so an
// import would make the compiler type-check the package itself (which fails under this project's settings). These
// are the parts the worker uses, after the package's lib/binding.ts.
import { createRequire } from "node:module";

export interface LlamaModelOptions {
  model: string;
  embedding?: boolean;
  pooling_type?: "none" | "mean" | "cls" | "last" | "rank";
  n_ctx?: number;
  n_threads?: number;
  n_gpu_layers?: number;
  lib_variant?: "default" | "vulkan" | "cuda";
}
export interface LlamaCompletionOptions {
  messages?: { role: string; content: string }[];
  prompt?: string;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  penalty_present?: number;
  penalty_freq?: number;
  n_predict?: number;
  seed?: number;
  stop?: string[];
  ignore_eos?: boolean;
  response_format?: {
    type: "text" | "json_object" | "json_schema";
    json_schema?: { strict?: boolean; schema: Record<string, unknown> };
  };
}
export interface LlamaCompletionResult {
  text: string;
  tokens_predicted: number;
  tokens_evaluated: number;
  truncated: boolean;
  context_full: boolean;
  interrupted: boolean;
}
export interface LlamaCompletionToken {
  token: string;
  content?: string;
}
export interface LlamaContext {
  completion(
    options: LlamaCompletionOptions,
    callback?: (token: LlamaCompletionToken) => void,
  ): Promise<LlamaCompletionResult>;
  stopCompletion(): void;
  tokenize(text: string): Promise<{ tokens: Int32Array }>;
  embedding(text: string): Promise<{ embedding: Float32Array }>;
  /** Empties the KV cache, so nothing of one job's text shapes the next one's answer. */
  clearCache(clearData?: boolean): void;
  release(): Promise<void>;
}

/** Loads the package (and its native add-on) on first use. */
export function llamaNode(): { loadModel(options: LlamaModelOptions): Promise<LlamaContext> } {
  return createRequire(import.meta.url)("@fugood/llama.node");
}
