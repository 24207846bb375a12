// Hugging Face through `@huggingface/inference` (chatCompletion, chatCompletionStream, featureExtraction): its
// router by default, or a self-hosted TGI / vLLM / TEI at `endpointUrl`. Requests go through providerFetch (the
// library takes a fetch), which also lets the router read a refusal's Retry-After.
import type { chatCompletion, chatCompletionStream } from "@huggingface/inference";

/** The library is evaluated on first use, not at isolate start: most deployments never route to Hugging Face. */
const library = () => import("@huggingface/inference");

import type { ProviderConfig } from "../config";
import { type ProviderEgress, providerFetch } from "../fetch";
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse } from "../openai-shapes";
import { errorFromThrown } from "./openai-compatible";
import { type EmbedRequest, type LlmProvider, type ProviderChatRequest, ProviderError, parseRetryAfter } from "./types";

type Config = Extract<ProviderConfig, { type: "huggingface" }>;

const CONTEXT_LENGTH = /context[_ ]length|maximum context|too many tokens|context window/i;

interface HttpFailure {
  httpResponse?: { status?: number; body?: unknown };
}

/** One call's fetch: the deadline joined to the caller's signal, and the last response kept for its headers. */
function callFetch(timeoutMs: number, signal: AbortSignal, egress: ProviderEgress) {
  const deadline = AbortSignal.timeout(timeoutMs);
  const joined = AbortSignal.any([signal, deadline]);
  const seen: { response?: Response } = {};
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const response = await providerFetch(url, { ...init, signal: joined }, egress);
    seen.response = response;
    return response;
  };
  return { fetchFn, seen, deadline, signal: joined };
}

export class HuggingFaceProvider implements LlmProvider {
  constructor(
    private readonly name: string,
    private readonly config: Config,
    private readonly key: string | undefined,
    private readonly egress: ProviderEgress,
  ) {}

  private target(model: string) {
    return this.config.endpointUrl
      ? { endpointUrl: this.config.endpointUrl.replace(/\/$/, ""), model, accessToken: this.key }
      : { model, accessToken: this.key };
  }

  /** The library's error as the router's kind, with Retry-After from the response the call saw. */
  private failure(err: unknown, call: ReturnType<typeof callFetch>, outer: AbortSignal): unknown {
    if (outer.aborted) return err;
    const status = (err as HttpFailure).httpResponse?.status ?? call.seen.response?.status;
    if (status === undefined || call.seen.response === undefined || call.seen.response.ok) {
      return errorFromThrown(err, this.name, call.deadline.aborted);
    }
    const retryAfterMs = parseRetryAfter(call.seen.response.headers.get("retry-after"));
    const where = `provider '${this.name}' answered ${status}`;
    if (status === 429) return new ProviderError("rate_limited", where, { status, retryAfterMs });
    if (status >= 500) return new ProviderError("server", where, { status, retryAfterMs });
    const body = JSON.stringify((err as HttpFailure).httpResponse?.body ?? "");
    if (CONTEXT_LENGTH.test(body))
      return new ProviderError("context_length", `${where}: context length exceeded`, { status });
    return new ProviderError("client", where, { status });
  }

  async chat(request: ProviderChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const call = callFetch(this.config.timeoutMs, signal, this.egress);
    const { model, ...rest } = request;
    try {
      const { chatCompletion } = await library();
      const out = await chatCompletion({ ...this.target(model), ...rest } as Parameters<typeof chatCompletion>[0], {
        fetch: call.fetchFn,
        signal: call.signal,
      });
      return out as unknown as ChatCompletion;
    } catch (err) {
      throw this.failure(err, call, signal);
    }
  }

  async stream(request: ProviderChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk[]>> {
    const call = callFetch(this.config.timeoutMs, signal, this.egress);
    const { model, ...rest } = request;
    const args = { ...this.target(model), ...rest, stream_options: { include_usage: true } };
    const { chatCompletionStream } = await library();
    const source = chatCompletionStream(args as Parameters<typeof chatCompletionStream>[0], {
      fetch: call.fetchFn,
      signal: call.signal,
    });
    // The generator sends its request on the first next(): pull it here, so a refusal falls back before any byte.
    let first: IteratorResult<unknown>;
    try {
      first = await source.next();
    } catch (err) {
      throw this.failure(err, call, signal);
    }
    const failure = (err: unknown) => this.failure(err, call, signal);
    return (async function* () {
      if (first.done) return;
      yield [first.value as ChatCompletionChunk];
      try {
        for await (const chunk of source) yield [chunk as unknown as ChatCompletionChunk];
      } catch (err) {
        throw failure(err);
      }
    })();
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    const call = callFetch(this.config.timeoutMs, signal, this.egress);
    // With endpointUrl, no model: the library would otherwise build the hosted router's URL from it.
    const args = this.config.endpointUrl
      ? { endpointUrl: this.config.endpointUrl.replace(/\/$/, ""), accessToken: this.key, inputs: request.input }
      : { model: request.model, accessToken: this.key, inputs: request.input };
    let vectors: unknown;
    try {
      const { featureExtraction } = await library();
      vectors = await featureExtraction(args, { fetch: call.fetchFn, signal: call.signal });
    } catch (err) {
      throw this.failure(err, call, signal);
    }
    const rows = Array.isArray(vectors) && Array.isArray(vectors[0]) ? (vectors as number[][]) : [vectors as number[]];
    const tokens = Math.ceil(request.input.join("").length / 4);
    return {
      object: "list",
      model: request.model,
      data: rows.map((embedding, index) => ({ object: "embedding", index, embedding })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }

  async health(signal: AbortSignal): Promise<boolean> {
    if (!this.config.endpointUrl) return true;
    try {
      const res = await providerFetch(`${this.config.endpointUrl.replace(/\/$/, "")}/health`, { signal }, this.egress);
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}
