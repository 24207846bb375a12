// The self-hosted GPU worker as a provider (docs/llm.md "The local provider"): an `llm.chat` or `llm.embed` job on
// the job board, run by a worker with llama.cpp on a GGUF. A stream resolves once the worker's first tokens are on
// the board (failures before that fall back to the next target); each later batch of tokens goes to the client as
// soon as the board hands it over. Without a worker or a provisioned model the error names what to provision.
import { jobArtifactKey } from "../../jobs/board";
import { LlmChatResult, LlmEmbedResult } from "../../jobs/protocol";
import type { Env } from "../../platform/env";
import { awaitJob, enqueueLocal, failureOf, followJob, LOCAL_NOT_PROVISIONED, workerPresent } from "../local-jobs";
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, EmbeddingResponse, Usage } from "../openai-shapes";
import { usageOf } from "../openai-shapes";
import { type EmbedRequest, type LlmProvider, type ProviderChatRequest, ProviderError } from "./types";

export { LOCAL_NOT_PROVISIONED };

type Role = "system" | "user" | "assistant" | "tool";

/** The conversation as plain text messages; image parts and tools are refused (no multimodal projector here). */
function textMessages(messages: ChatMessage[]): { role: Role; content: string }[] {
  return messages.map((m) => {
    const content = m.content ?? "";
    const text =
      typeof content === "string"
        ? content
        : content
            .map((part) => {
              if (part.type !== "text") throw new ProviderError("client", "local: the local provider takes text only");
              return part.text;
            })
            .join("");
    return { role: m.role === "developer" ? "system" : m.role, content: text };
  });
}

/** The job's options: the conversation and OpenAI's sampling parameters, which the worker maps to llama.cpp's. */
function chatOptions(request: ProviderChatRequest) {
  if (request.tools?.length) throw new ProviderError("client", "local: the local provider does not run tools");
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  const stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  const options: Record<string, NonNullable<unknown>> = { messages: textMessages(request.messages) };
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) options[key] = value;
  };
  set("max_tokens", maxTokens);
  set("temperature", request.temperature);
  set("top_p", request.top_p);
  set("seed", request.seed);
  set("presence_penalty", request.presence_penalty);
  set("frequency_penalty", request.frequency_penalty);
  set("stop", stop);
  if (request.response_format && request.response_format.type !== "text")
    set("response_format", request.response_format);
  // The options are JSON (they cross Durable Object RPC); everything above is.
  return JSON.parse(JSON.stringify(options));
}

function chunk(
  id: string,
  model: string,
  created: number,
  delta: ChatCompletionChunk["choices"][0]["delta"],
  finish: string | null = null,
): ChatCompletionChunk {
  return { id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] };
}

function chatResult(result: unknown): LlmChatResult {
  const parsed = LlmChatResult.safeParse(result);
  if (!parsed.success) throw new ProviderError("server", "local: the GPU worker's result is not an llm.chat result");
  return parsed.data;
}

export class LocalProvider implements LlmProvider {
  constructor(readonly env: Env) {}

  async chat(request: ProviderChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const id = await enqueueLocal(this.env, "llm.chat", chatOptions(request));
    const { job } = await awaitJob(this.env, id, signal);
    const result = chatResult(job.result);
    return {
      id,
      object: "chat.completion",
      created: Math.floor(Date.parse(job.createdAt) / 1000),
      model: request.model,
      choices: [
        { index: 0, message: { role: "assistant", content: result.content }, finish_reason: result.finishReason },
      ],
      usage: usageOf(result.promptTokens, result.completionTokens),
    };
  }

  async stream(request: ProviderChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk[]>> {
    const id = await enqueueLocal(this.env, "llm.chat", chatOptions(request));
    const created = Math.floor(Date.now() / 1000);
    const model = request.model;
    const steps = followJob(this.env, id, signal);
    let sent = "";
    let roleSent = false;
    /** One board read as chunks: its pieces, and at the end any text the stream missed, the finish and the usage. */
    const toChunks = (step: { pieces: string[]; job: { status: string; result?: unknown } }): ChatCompletionChunk[] => {
      const out: ChatCompletionChunk[] = [];
      const piece = (content: string) => {
        out.push(chunk(id, model, created, roleSent ? { content } : { role: "assistant", content }));
        roleSent = true;
        sent += content;
      };
      for (const p of step.pieces) piece(p);
      if (step.job.status === "completed") {
        const result = chatResult(step.job.result);
        // Pieces lost on the way (a board restart, a failed post) are in the result: send what is missing.
        if (result.content.startsWith(sent) && result.content.length > sent.length)
          piece(result.content.slice(sent.length));
        if (!roleSent) piece("");
        const usage: Usage = usageOf(result.promptTokens, result.completionTokens);
        out.push(chunk(id, model, created, {}, result.finishReason));
        out.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
      } else if (step.job.status !== "running" && step.job.status !== "queued") {
        throw failureOf(step.job as Parameters<typeof failureOf>[0]);
      }
      return out;
    };
    // Wait for the first tokens (or the end): until then a failure is the router's to fall back from.
    let first: ChatCompletionChunk[] = [];
    while (first.length === 0) {
      const next = await steps.next();
      if (next.done) throw new ProviderError("server", "local: the job's output ended before the job");
      first = toChunks(next.value);
    }
    async function* rest(): AsyncGenerator<ChatCompletionChunk[]> {
      try {
        yield first;
        for await (const step of steps) {
          const chunks = toChunks(step);
          if (chunks.length) yield chunks;
        }
      } finally {
        await steps.return(undefined);
      }
    }
    return rest();
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    const id = await enqueueLocal(this.env, "llm.embed", { inputs: request.input });
    const { job } = await awaitJob(this.env, id, signal);
    const parsed = LlmEmbedResult.safeParse(job.result);
    if (!parsed.success) throw new ProviderError("server", "local: the GPU worker's result is not an llm.embed result");
    const result = parsed.data;
    const key = jobArtifactKey(id, result.artifact);
    const object = await this.env.FILES.get(key);
    if (!object) throw new ProviderError("server", "local: the embeddings artifact is missing");
    const bytes = new Uint8Array(await object.arrayBuffer());
    await this.env.FILES.delete(key);
    if (bytes.byteLength !== result.count * result.dimensions * 4) {
      throw new ProviderError("server", "local: the embeddings artifact has the wrong size");
    }
    const dims = request.dimensions;
    if (dims !== undefined && dims > result.dimensions) {
      throw new ProviderError("client", `local: the model has ${result.dimensions} dimensions, fewer than ${dims}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = Array.from({ length: result.count }, (_, i) => {
      let v = Array.from({ length: result.dimensions }, (_, d) =>
        view.getFloat32((i * result.dimensions + d) * 4, true),
      );
      // OpenAI's `dimensions`: the first n, renormalised (as Matryoshka-trained models are meant to be cut).
      if (dims !== undefined && dims < result.dimensions) {
        v = v.slice(0, dims);
        const norm = Math.hypot(...v) || 1;
        v = v.map((x) => x / norm);
      }
      return { object: "embedding" as const, index: i, embedding: v };
    });
    return {
      object: "list",
      data,
      model: request.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  }

  /** A live worker seen lately: whether it runs these job types shows only when a job is tried. */
  health(): Promise<boolean> {
    return workerPresent(this.env);
  }
}
