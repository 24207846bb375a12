// The local LLM provider's engine: llama.cpp (through @fugood/llama.node, CPU build) on a tiny llama-architecture
// GGUF the test writes. Its text is gibberish by design; what is checked is that the real engine tokenizes the
// chat, streams every token as it comes, stops at max_tokens or on abort, and embeds (docs/llm.md).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backend } from "../../gpu-worker/backends";
import type { JobInput, LoadContext, LoadedModel, RunContext } from "../../gpu-worker/backends/types";
import { edgeClient } from "../../gpu-worker/client";
import type { ModelEntry } from "../../gpu-worker/config";
import { JobError, ModelNotProvisioned } from "../../gpu-worker/errors";
import { silentLog } from "../../gpu-worker/log";
import { Metrics } from "../../gpu-worker/metrics";
import { VramManager } from "../../gpu-worker/vram";
import { GpuWorker, modelLoader } from "../../gpu-worker/worker";
import { LlmChatResult, LlmEmbedResult } from "../../src/lib/jobs/protocol";
import { createScratch, type Scratch } from "../support/scratch";
import { lease, SECRET, startFakeEdge } from "./support/fake-edge";
import { writeTinyGguf } from "./support/tiny-gguf";

const cpu: LoadContext = { device: "cpu", threads: 2, log: silentLog };
const MESSAGES = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Say hello to Tessera." },
];

let scratch: Scratch;
let file: string;
let chatModel: LoadedModel;
let embedModel: LoadedModel;

function entry(id: string, extra: Partial<ModelEntry> = {}): ModelEntry {
  return {
    id,
    backend: "llama.cpp",
    path: file,
    vramMiB: 0,
    keepAliveMs: 0,
    concurrency: 1,
    pinned: false,
    options: { contextSize: 512 },
    ...extra,
  };
}

async function load(e: ModelEntry): Promise<LoadedModel> {
  return (await backend(e.backend)).load(e, cpu);
}

function runContext(signal = new AbortController().signal) {
  const pieces: string[] = [];
  const ctx: RunContext = { signal, progress: () => {}, log: silentLog, emit: (p) => pieces.push(p) };
  return { ctx, pieces };
}

const chatInput = (options: JobInput["options"] = {}): JobInput => ({
  type: "llm.chat",
  text: "",
  options: { messages: MESSAGES, temperature: 0, max_tokens: 12, ...options },
});

beforeAll(async () => {
  scratch = await createScratch("tessera-llama");
  file = await writeTinyGguf(`${scratch.dir}/tiny.gguf`);
  chatModel = await load(entry("llm-chat-gguf"));
  embedModel = await load(entry("llm-embed-gguf", { options: { embedding: true, pooling: "mean", contextSize: 512 } }));
});
afterAll(async () => {
  await chatModel?.unload();
  await embedModel?.unload();
  await scratch?.cleanup();
});

describe("llm.chat (llama.cpp on a GGUF the test writes)", () => {
  it("streams each token through emit, and the pieces add up to the result's content", async () => {
    const { ctx, pieces } = runContext();
    const out = await chatModel.run(chatInput(), ctx);
    const result = LlmChatResult.parse(out.result);
    expect(pieces.length).toBe(12);
    expect(pieces.join("")).toBe(result.content);
    expect(result.content.length).toBeGreaterThan(0);
    expect(result).toMatchObject({ finishReason: "length", completionTokens: 12 });
    // The chat template wrapped both messages: more prompt tokens than the user's text alone has characters.
    expect(result.promptTokens).toBeGreaterThan("Say hello to Tessera.".length);
  });

  it("is deterministic at temperature 0, and takes a plain text job as one user message", async () => {
    const a = LlmChatResult.parse((await chatModel.run(chatInput(), runContext().ctx)).result);
    const b = LlmChatResult.parse((await chatModel.run(chatInput(), runContext().ctx)).result);
    expect(b.content).toBe(a.content);
    const plain = await chatModel.run(
      { type: "llm.chat", text: "Say hello to Tessera.", options: { max_tokens: 3 } },
      runContext().ctx,
    );
    expect(LlmChatResult.parse(plain.result).completionTokens).toBe(3);
  });

  it("runs many short jobs back to back on one context (llama.node's busy mark never wedges it)", async () => {
    for (let i = 0; i < 40; i++) {
      const out = await chatModel.run(chatInput({ max_tokens: 4 }), runContext().ctx);
      expect(LlmChatResult.parse(out.result).completionTokens).toBe(4);
    }
  });

  it("stops generating when its signal aborts, and fails the attempt as retryable", async () => {
    const controller = new AbortController();
    const pieces: string[] = [];
    const ctx: RunContext = {
      signal: controller.signal,
      progress: () => {},
      log: silentLog,
      emit: (p) => {
        pieces.push(p);
        if (pieces.length === 3) controller.abort();
      },
    };
    const err = await chatModel.run(chatInput({ max_tokens: 400 }), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).retryable).toBe(true);
    expect(pieces.length).toBeLessThan(400);
  });

  it("refuses malformed messages for good", async () => {
    const err = await chatModel
      .run(chatInput({ messages: [{ role: "user", content: [{ type: "image_url" }] }] }), runContext().ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).retryable).toBe(false);
  });

  it("fails at once, for good, naming what to provision when the GGUF is missing", async () => {
    const err = await load(entry("llm-chat-gguf", { path: `${scratch.dir}/missing/qwen.gguf` })).catch((e) => e);
    expect(err).toBeInstanceOf(ModelNotProvisioned);
    expect((err as Error).message).toMatch(/instruct \(chat\) GGUF model file for llm-chat-gguf/);
    expect((err as Error).message).toContain("npm run models:fetch");
  });
});

describe("llm.embed (llama.cpp, mean pooling)", () => {
  const vectors = (bytes: Uint8Array, count: number, dims: number) =>
    Array.from({ length: count }, (_, i) => new Float32Array(bytes.slice(i * dims * 4, (i + 1) * dims * 4).buffer));

  it("embeds each text as a unit vector in a float32 artifact, the same text the same way", async () => {
    const out = await embedModel.run(
      { type: "llm.embed", options: { inputs: ["hello world", "something else", "hello world"] } },
      runContext().ctx,
    );
    const result = LlmEmbedResult.parse(out.result);
    expect(result).toMatchObject({ count: 3, dimensions: 32, artifact: "embeddings.f32" });
    expect(result.promptTokens).toBeGreaterThan(0);
    const artifact = out.artifacts?.[0];
    expect(artifact?.bytes.byteLength).toBe(3 * 32 * 4);
    const [a, b, c] = vectors(artifact?.bytes ?? new Uint8Array(), 3, 32);
    const norm = (v: Float32Array) => Math.hypot(...v);
    expect(norm(a as Float32Array)).toBeCloseTo(1, 3);
    expect(Array.from(c as Float32Array)).toEqual(Array.from(a as Float32Array));
    expect(Array.from(b as Float32Array)).not.toEqual(Array.from(a as Float32Array));
  });

  it("refuses llm.embed on a chat model's entry", async () => {
    const err = await chatModel.run({ type: "llm.embed", text: "x", options: {} }, runContext().ctx).catch((e) => e);
    expect(err).toBeInstanceOf(JobError);
  });
});

describe("the lease loop with llama.cpp", () => {
  it("posts the tokens to the job's output, in order, before it completes the job", async () => {
    const edge = await startFakeEdge();
    const models = [entry("llm-chat-gguf")];
    const vram = new VramManager<ModelEntry, LoadedModel>({
      budgetMiB: 4096,
      load: modelLoader(backend, cpu),
    });
    const worker = new GpuWorker({
      config: {
        maxJobs: 1,
        types: ["llm.chat"],
        leaseWaitMs: 0,
        idlePollMs: 20,
        idlePollMaxMs: 20,
        heartbeatMs: 1000,
        device: "cpu",
        threads: 2,
      },
      models,
      client: edgeClient(edge.url, SECRET),
      vram,
      metrics: new Metrics(),
      log: silentLog,
    });
    try {
      edge.queue.push(
        lease("c1", {
          type: "llm.chat",
          model: "llm-chat-gguf",
          input: { text: "" },
          options: { messages: MESSAGES, temperature: 0, max_tokens: 16 },
        }),
      );
      worker.start();
      await vi.waitFor(() => expect(edge.finished("c1")).toBeDefined(), { timeout: 60_000, interval: 50 });
      const finished = edge.finished("c1");
      expect(finished?.path).toBe("/v1/gpu/jobs/c1/complete");
      const result = LlmChatResult.parse((finished?.body as { result?: unknown } | undefined)?.result);
      const posts = edge.calls.filter((c) => c.path === "/v1/gpu/jobs/c1/output");
      expect(posts.length).toBeGreaterThan(0);
      const streamed = posts.flatMap((p) => (p.body as { leaseId: string; pieces: string[] }).pieces);
      expect(streamed.join("")).toBe(result.content);
      expect(streamed).toHaveLength(16);
      expect(posts.every((p) => (p.body as { leaseId: string }).leaseId === "lease-c1")).toBe(true);
      expect(edge.calls.indexOf(posts.at(-1) as never)).toBeLessThan(edge.calls.indexOf(finished as never));
    } finally {
      await worker.stop(0);
      await vram.close();
      await edge.close();
    }
  });
});
