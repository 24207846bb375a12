// Any server that speaks OpenAI's protocol (OpenAI, Ollama, vLLM, LM Studio, llama.cpp's server) at a base URL.
import type { Env } from "../../platform/env";
import type { ProviderConfig } from "../config";
import { type ProviderEgress, providerFetch } from "../fetch";
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse } from "../openai-shapes";
import { sseBatches } from "../sse";
import { type EmbedRequest, type LlmProvider, type ProviderChatRequest, ProviderError, parseRetryAfter } from "./types";

type Config = Extract<ProviderConfig, { type: "openai-compatible" }>;

const CONTEXT_LENGTH = /context[_ ]length|maximum context|too many tokens|context window/i;

/** A provider's secret by its configured name (only LLM_KEY_* names pass the route table's schema). */
export function providerKey(env: Env, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const value: unknown = Reflect.get(env, name);
  return typeof value === "string" && value ? value : undefined;
}

/** Maps a provider's error answer onto the router's kinds; the provider's words stay out of client messages. */
async function errorFromResponse(res: Response, name: string): Promise<ProviderError> {
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
  const text = await res.text().catch(() => "");
  const status = res.status;
  const where = `provider '${name}' answered ${status}`;
  if (status === 429) return new ProviderError("rate_limited", where, { status, retryAfterMs });
  if (status >= 500) return new ProviderError("server", where, { status, retryAfterMs });
  if ((status === 400 || status === 413) && CONTEXT_LENGTH.test(text)) {
    return new ProviderError("context_length", `${where}: context length exceeded`, { status });
  }
  return new ProviderError("client", where, { status });
}

/** A fetch failure as the router's kind: our own deadline, or the connection. */
export function errorFromThrown(err: unknown, name: string, timedOut: boolean): ProviderError {
  if (err instanceof ProviderError) return err;
  if (timedOut) return new ProviderError("timeout", `provider '${name}' did not answer in time`);
  return new ProviderError("connection", `provider '${name}' could not be reached`);
}

export class OpenAiCompatibleProvider implements LlmProvider {
  private readonly base: string;

  constructor(
    private readonly name: string,
    private readonly config: Config,
    private readonly key: string | undefined,
    private readonly egress: ProviderEgress,
  ) {
    this.base = config.baseUrl.replace(/\/$/, "");
  }

  /** POSTs JSON with the provider's deadline joined to the caller's signal; error answers become ProviderErrors. */
  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const deadline = AbortSignal.timeout(this.config.timeoutMs);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let res: Response;
    try {
      res = await providerFetch(
        `${this.base}${path}`,
        {
          method: "POST",
          headers,
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal, deadline]),
        },
        this.egress,
      );
    } catch (err) {
      if (signal.aborted) throw err;
      throw errorFromThrown(err, this.name, deadline.aborted);
    }
    if (!res.ok) throw await errorFromResponse(res, this.name);
    return res;
  }

  async chat(request: ProviderChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const res = await this.post("/chat/completions", { ...request, stream: false }, signal);
    try {
      return (await res.json()) as ChatCompletion;
    } catch {
      throw new ProviderError("server", `provider '${this.name}' answered with a body that is not JSON`);
    }
  }

  async stream(request: ProviderChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk[]>> {
    const res = await this.post(
      "/chat/completions",
      { ...request, stream: true, stream_options: { include_usage: true } },
      signal,
    );
    const body = res.body;
    if (!body) throw new ProviderError("server", `provider '${this.name}' answered a stream with no body`);
    return chunksOf(body);
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    const res = await this.post("/embeddings", request, signal);
    return (await res.json()) as EmbeddingResponse;
  }

  async health(signal: AbortSignal): Promise<boolean> {
    const headers: Record<string, string> = {};
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    try {
      const res = await providerFetch(`${this.base}/models`, { headers, signal }, this.egress);
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}

async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatCompletionChunk[]> {
  for await (const batch of sseBatches(body)) {
    const chunks: ChatCompletionChunk[] = [];
    for (const data of batch) {
      try {
        chunks.push(JSON.parse(data) as ChatCompletionChunk);
      } catch {
        // a keep-alive or comment payload: nothing to relay
      }
    }
    if (chunks.length) yield chunks;
  }
}
