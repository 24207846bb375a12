// The local LLM provider end to end: the official `openai` SDK → `wrangler dev` → an alias routed to `local` → an
// llm.chat job on the JobBoard → a real GPU worker process (CPU) → llama.cpp on a tiny GGUF the test writes → each
// token posted to the job's output → handed by the board to the waiting request → SSE chunks to the SDK. Also
// embeddings through llm.embed. The model's text is gibberish by design (random weights); what it must be is the
// engine's own answer, token by token.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, type ManagedProcess, waitForHttp } from "../../dev/lib/processes";
import { startGpuWorker } from "../../dev/lib/suite";
import { writeE2eModelsFile } from "./gpu-models";
import { signUp, type User } from "./users";

const base = inject("workerUrl");
const MESSAGES: OpenAI.ChatCompletionMessageParam[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Say hello to Tessera." },
];
let user: User;
let client: OpenAI;
let scratch: string;
let worker: ManagedProcess | undefined;
const logs: string[] = [];

beforeAll(async () => {
  user = await signUp("llmlocal");
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: user.token, maxRetries: 0, timeout: 60_000 });
  scratch = await mkdtemp(join(tmpdir(), "tessera-e2e-llm-"));
  const port = await freePort();
  worker = startGpuWorker({
    secret: inject("gpuWorkerSecret"),
    edgeUrl: base,
    port,
    name: "gpu-llm",
    env: {
      GPU_WORKER_MODELS: await writeE2eModelsFile(scratch),
      // Only the LLM types: the other files' jobs are theirs. Short polls, so no long-poll outlives this file.
      GPU_WORKER_TYPES: "llm.chat,llm.embed",
      GPU_WORKER_THREADS: "2",
      GPU_WORKER_LEASE_WAIT_MS: "0",
      GPU_WORKER_IDLE_POLL_MS: "20",
      GPU_WORKER_IDLE_POLL_MAX_MS: "100",
      LOG_LEVEL: "warn",
    },
    write: (line) => logs.push(line),
  });
  await waitForHttp(`http://127.0.0.1:${port}/health`, worker, 60_000);
  // Healthy means its lease loop runs; the board counts it present from its first lease call, which a loaded machine
  // may take a while to make: until then the provider answers 503 at once. Wait for one embedding to go through.
  const deadline = Date.now() + 120_000;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    const ok = await client.embeddings.create({ model: "local-embed", input: "warm up" }).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the GPU worker never served llm.embed:\n${logs.slice(-20).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
});
afterAll(async () => {
  await worker?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function usageTokens(completionId: string): Promise<number> {
  for (let wait = 50; wait < 10_000; wait *= 2) {
    const res = await fetch(`${base}/v1/usage`, { headers: { authorization: `Bearer ${user.token}` } });
    const rows = ((await res.json()) as { recent: { completionId: string; completionTokens: number }[] }).recent;
    const row = rows.find((r) => r.completionId === completionId);
    if (row) return row.completionTokens;
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`no usage row for ${completionId}`);
}

describe("the local provider through the GPU worker (llama.cpp)", () => {
  it("streams each token llama.cpp produces to the SDK, with the finish and usage chunks, and records usage", async () => {
    const stream = await client.chat.completions.create({
      model: "local",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 24,
      temperature: 0,
    });
    const contentChunks: string[] = [];
    let first: OpenAI.ChatCompletionChunk | undefined;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      first ??= chunk;
      const choice = chunk.choices[0];
      if (choice?.delta.content) contentChunks.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(first?.choices[0]?.delta.role).toBe("assistant");
    // One chunk per token: the worker posts each token, the board hands each one over, the provider relays it.
    expect(contentChunks).toHaveLength(24);
    expect(finish).toBe("length");
    expect(usage?.completion_tokens).toBe(24);
    expect(usage?.prompt_tokens).toBeGreaterThan(10);

    // The same request whole (greedy decoding, so the same answer): the streamed tokens are the engine's own.
    const { data: completion, response } = await client.chat.completions
      .create({ model: "local", messages: MESSAGES, max_tokens: 24, temperature: 0 })
      .withResponse();
    expect(response.headers.get("x-tessera-target")).toBe("local/qwen2.5-0.5b-instruct");
    expect(completion.choices[0]?.message.content).toBe(contentChunks.join(""));
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.usage).toMatchObject({ completion_tokens: 24, prompt_tokens: usage?.prompt_tokens });
    expect(await usageTokens(first?.id ?? "")).toBe(24);
    expect(await usageTokens(completion.id)).toBe(24);
  });

  it("creates embeddings through llm.embed: one unit vector per input, cut to `dimensions` when asked", async () => {
    const embeddings = await client.embeddings.create({
      model: "local-embed",
      input: ["hello world", "something else"],
      encoding_format: "float",
    });
    expect(embeddings.data).toHaveLength(2);
    const [a, b] = embeddings.data.map((d) => d.embedding);
    expect(a).toHaveLength(32);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 3);
    expect(b).not.toEqual(a);
    expect(embeddings.usage.prompt_tokens).toBeGreaterThan(0);

    const cut = await client.embeddings.create({
      model: "local-embed",
      input: "hello world",
      dimensions: 8,
      encoding_format: "float",
    });
    expect(cut.data[0]?.embedding).toHaveLength(8);
    expect(Math.hypot(...(cut.data[0]?.embedding ?? []))).toBeCloseTo(1, 3);
  });

  it("refuses image parts in OpenAI's error shape, and the SDK surfaces it", async () => {
    const err = await client.chat.completions
      .create({
        model: "local",
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain("text only");
  });
});
