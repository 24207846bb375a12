// The self-hosted GPU worker as a provider (docs/llm.md "The local provider"). Until a worker with a provisioned
// GGUF model serves the llm.chat job type, a route to it answers an error that names what to provision.
import type { Env } from "../../platform/env";
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse } from "../openai-shapes";
import { type EmbedRequest, type LlmProvider, type ProviderChatRequest, ProviderError } from "./types";

const LOCAL_NOT_PROVISIONED =
  "the local provider has no model: provision an instruct GGUF on a GPU worker (npm run models:fetch) and a worker that serves the llm.chat job type";

export class LocalProvider implements LlmProvider {
  constructor(readonly env: Env) {}

  chat(_request: ProviderChatRequest, _signal: AbortSignal): Promise<ChatCompletion> {
    return Promise.reject(new ProviderError("unavailable", LOCAL_NOT_PROVISIONED));
  }

  stream(_request: ProviderChatRequest, _signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk[]>> {
    return Promise.reject(new ProviderError("unavailable", LOCAL_NOT_PROVISIONED));
  }

  embed(_request: EmbedRequest, _signal: AbortSignal): Promise<EmbeddingResponse> {
    return Promise.reject(new ProviderError("unavailable", LOCAL_NOT_PROVISIONED.replace("llm.chat", "llm.embed")));
  }

  async health(): Promise<boolean> {
    return false;
  }
}
