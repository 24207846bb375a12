// The local LLM provider's engine (docs/llm.md "The local provider"): GGUF models on llama.cpp through
// @fugood/llama.node (prebuilt CPU, CUDA and Vulkan variants). `llm.chat` streams each token to the job's output as
// it is produced (RunContext.emit); `llm.embed` writes the vectors as a float32 artifact. No package ships weights:
// the GGUF must be provisioned (`npm run models:fetch`, or a path in the models file).
import type { JsonValue, LlmChatResult, LlmEmbedResult } from "../../src/lib/jobs/protocol";
import { invalidInput, JobError } from "../errors";
import { type LlamaCompletionOptions, type LlamaContext, type LlamaModelOptions, llamaNode } from "./llama-binding";
import { findModelFile } from "./model-file";
import { type Backend, type JobInput, type LoadContext, numberOption, type RunContext } from "./types";

/** The longest answer one job produces, in characters: its result must fit the board's result limit. */
export const MAX_OUTPUT_CHARS = 128 * 1024;
/** Texts one embedding job takes. */
export const MAX_EMBED_INPUTS = 2048;
const DEFAULT_MAX_TOKENS = 512;

type ChatMessage = { role: string; content: string };
type Llama = LlamaContext;

const POOLING = ["none", "mean", "cls", "last"] as const;

export async function loadLlama(options: LlamaModelOptions, ctx: LoadContext): Promise<Llama> {
  const { loadModel } = llamaNode();
  if (ctx.device !== "cuda") return loadModel(options);
  try {
    return await loadModel({ ...options, lib_variant: "cuda", n_gpu_layers: 999 });
  } catch (err) {
    ctx.log.warn("llama.cpp's CUDA build did not load, falling back to the CPU build", {
      error: err instanceof Error ? err.message : String(err),
      hint: "the CUDA variant needs libcudart and libcublas 12 on the host",
    });
    return loadModel(options);
  }
}

/** The conversation: `options.messages` (what the local provider sends), else the text as one user message. */
export function chatMessages(input: JobInput): ChatMessage[] {
  const raw = input.options.messages;
  if (raw === undefined) {
    if (!input.text) throw invalidInput("llm.chat needs `options.messages` or text input");
    return [{ role: "user", content: input.text }];
  }
  if (!Array.isArray(raw) || raw.length === 0) throw invalidInput("options.messages must be a non-empty array");
  return raw.map((m, i) => {
    if (typeof m !== "object" || m === null || Array.isArray(m) || typeof m.role !== "string") {
      throw invalidInput(`options.messages[${i}] must be {role, content}`);
    }
    if (typeof m.content !== "string") throw invalidInput(`options.messages[${i}].content must be text`);
    return { role: m.role, content: m.content };
  });
}

/** OpenAI's sampling options (as the provider passes them) in llama.cpp's names. */
export function samplingOptions(input: JobInput): LlamaCompletionOptions {
  const temperature = numberOption(input, "temperature") ?? 1;
  const out: LlamaCompletionOptions = {
    n_predict: numberOption(input, "max_tokens") ?? DEFAULT_MAX_TOKENS,
    temperature,
  };
  // OpenAI's temperature 0 is greedy decoding; llama.cpp's sampler chain still draws at 0 unless only one candidate
  // is left (tests/gpu-worker/llama.test.ts checks the answer repeats).
  if (temperature === 0) out.top_k = 1;
  const topP = numberOption(input, "top_p");
  if (topP !== undefined) out.top_p = topP;
  const seed = numberOption(input, "seed");
  if (seed !== undefined) out.seed = seed;
  const presence = numberOption(input, "presence_penalty");
  if (presence !== undefined) out.penalty_present = presence;
  const frequency = numberOption(input, "frequency_penalty");
  if (frequency !== undefined) out.penalty_freq = frequency;
  const stop = input.options.stop;
  if (Array.isArray(stop)) out.stop = stop.filter((s): s is string => typeof s === "string");
  const format = input.options.response_format;
  if (isObject(format) && (format.type === "json_object" || format.type === "json_schema")) {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    out.response_format = isObject(schema) ? { type: "json_schema", json_schema: { schema } } : { type: "json_object" };
  }
  return out;
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const BUSY = /completion is in progress/;
/** How long a context may stay busy after its completion ended before it counts as wedged. */
const WEDGED_MS = 1_000;

/**
 * One llama.cpp context, replaced when llama.node wedges it: its completion clears the context's "busy" mark from
 * the engine thread through a hook it registers only after queueing the work, so a completion that finishes before
 * the hook is in place (microseconds on a tiny model, longer on a loaded host) leaves the context refusing every
 * later completion ("Another completion is in progress"). A short wait covers the ordinary moment between a
 * completion's end and the mark's clearing; past WEDGED_MS the context is released and loaded afresh.
 */
/** Wedged contexts, held for the life of the process so nothing ever releases or finalizes them (see below). */
const WEDGED: Llama[] = [];

export class LlamaSession {
  reloads = 0;
  private constructor(
    private current: Llama,
    private readonly open: () => Promise<Llama>,
    private readonly log: LoadContext["log"],
  ) {}

  static async start(open: () => Promise<Llama>, log: LoadContext["log"]): Promise<LlamaSession> {
    return new LlamaSession(await open(), open, log);
  }

  get llama(): Llama {
    return this.current;
  }

  /** Runs `step` on the context once it takes work; a wedged context is replaced and `step` run on the new one. */
  async run<T>(step: (llama: Llama) => T | Promise<T>): Promise<T> {
    const until = Date.now() + WEDGED_MS;
    for (;;) {
      try {
        return await step(this.current);
      } catch (err) {
        if (!BUSY.test(err instanceof Error ? err.message : String(err))) throw err;
        if (Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        this.log.warn("llama.cpp context wedged by llama.node (a completion never cleared its busy mark): reloading");
        // The wedged context is kept, never released: releasing it touches memory llama.node has already freed and
        // can take the whole worker down (docs/gpu-worker.md, "Limits and what is not built"). The cost is its memory
        // for the life of the process.
        WEDGED.push(this.current);
        this.current = await this.open();
        this.reloads++;
        return step(this.current);
      }
    }
  }

  release(): Promise<void> {
    return this.current.release();
  }
}

/** How long a finished completion waits for its token callbacks, which llama.node may deliver after its promise. */
const LATE_TOKENS_MS = 2_000;

async function chat(session: LlamaSession, input: JobInput, run: RunContext): Promise<LlmChatResult> {
  const options = { ...samplingOptions(input), messages: chatMessages(input) };
  let emitted = "";
  let tokens = 0;
  let cut = false;
  let finished = false;
  const stop = () => session.llama.stopCompletion();
  run.signal.addEventListener("abort", stop, { once: true });
  try {
    // Each job starts from an empty cache: jobs are different callers' conversations.
    await session.run((llama) => llama.clearCache());
    const result = await session.run((llama) =>
      llama.completion(options, (t) => {
        if (cut || finished) return;
        tokens++;
        if (emitted.length + t.token.length > MAX_OUTPUT_CHARS) {
          cut = true;
          llama.stopCompletion();
          return;
        }
        emitted += t.token;
        run.emit?.(t.token);
      }),
    );
    if (run.signal.aborted) throw new JobError("generation stopped", true);
    const content = cut ? result.text.slice(0, MAX_OUTPUT_CHARS) : result.text;
    // The promise can resolve before the last token callbacks run: wait for them (the text they add up to is known),
    // so every piece is emitted before the job completes; any that never come go out as one piece.
    const deadline = Date.now() + LATE_TOKENS_MS;
    while (!cut && emitted.length < content.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    finished = true;
    if (content.startsWith(emitted) && content.length > emitted.length) run.emit?.(content.slice(emitted.length));
    const maxTokens = options.n_predict ?? DEFAULT_MAX_TOKENS;
    return {
      content,
      finishReason: cut || tokens >= maxTokens || result.context_full ? "length" : "stop",
      promptTokens: result.tokens_evaluated,
      completionTokens: Math.max(tokens, result.tokens_predicted),
    };
  } finally {
    finished = true;
    run.signal.removeEventListener("abort", stop);
  }
}

/** The texts to embed: `options.inputs` (what the local provider sends), else the text alone. */
function embedInputs(input: JobInput): string[] {
  const raw = input.options.inputs;
  if (raw === undefined) {
    if (!input.text) throw invalidInput("llm.embed needs `options.inputs` or text input");
    return [input.text];
  }
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_EMBED_INPUTS) {
    throw invalidInput(`options.inputs must be 1 to ${MAX_EMBED_INPUTS} texts`);
  }
  return raw.map((t, i) => {
    if (typeof t !== "string") throw invalidInput(`options.inputs[${i}] must be text`);
    return t;
  });
}

async function embed(session: LlamaSession, input: JobInput, run: RunContext) {
  const texts = embedInputs(input);
  const vectors: Float32Array[] = [];
  let promptTokens = 0;
  for (const [i, text] of texts.entries()) {
    run.signal.throwIfAborted();
    promptTokens += (await session.llama.tokenize(text)).tokens.length;
    await session.run((llama) => llama.clearCache());
    vectors.push((await session.llama.embedding(text)).embedding);
    run.progress((i + 1) / texts.length);
  }
  const dimensions = vectors[0]?.length ?? 0;
  const bytes = new Uint8Array(texts.length * dimensions * 4);
  const view = new DataView(bytes.buffer);
  vectors.forEach((v, i) => {
    for (let d = 0; d < dimensions; d++) view.setFloat32((i * dimensions + d) * 4, v[d] ?? 0, true);
  });
  const result: LlmEmbedResult = { artifact: "embeddings.f32", count: texts.length, dimensions, promptTokens };
  return { result, artifacts: [{ name: result.artifact, contentType: "application/octet-stream", bytes }] };
}

export const llamaBackend: Backend = {
  async load(entry, ctx) {
    const embedding = entry.options.embedding === true;
    const file = findModelFile(
      entry.id,
      entry.path,
      entry.options.fallbackPaths,
      `the local LLM provider needs ${embedding ? "an embedding" : "an instruct (chat)"} GGUF model file`,
      "run `npm run models:fetch` on a machine with internet, or point the models file's path at a .gguf",
    );
    const pooling = POOLING.find((p) => p === entry.options.pooling);
    const contextSize = entry.options.contextSize;
    const llama = await LlamaSession.start(
      () =>
        loadLlama(
          {
            model: file,
            n_ctx: typeof contextSize === "number" ? contextSize : 4096,
            ...(ctx.threads ? { n_threads: ctx.threads } : {}),
            ...(embedding ? { embedding: true, pooling_type: pooling ?? "mean" } : {}),
          },
          ctx,
        ),
      ctx.log,
    );
    // One context decodes one sequence at a time: the entry's concurrency must stay 1 (the ledger enforces it).
    return {
      async run(input, run) {
        if (input.type === "llm.embed") {
          if (!embedding) throw new JobError(`${entry.id} is a chat model; llm.embed needs an embedding entry`, false);
          return embed(llama, input, run);
        }
        if (input.type !== "llm.chat") throw invalidInput(`${entry.id} does not run ${input.type}`);
        return { result: await chat(llama, input, run) };
      },
      unload: () => llama.release(),
    };
  },
};
