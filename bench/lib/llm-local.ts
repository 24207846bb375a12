// bench:llm's local-provider part: what the job board adds to each token between llama.cpp and the client.
// The GPU worker runs in this process (the real lease loop, edge client and llama.cpp backend, against the served
// Tessera), so the moment the engine hands a token to the worker and the moment its SSE chunk reaches the client
// are read from one clock. Beside it, llama.cpp called directly in-process on the same tiny GGUF.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { backend } from "../../gpu-worker/backends";
import type { Backend, LoadContext, LoadedModel } from "../../gpu-worker/backends/types";
import { edgeClient } from "../../gpu-worker/client";
import type { ModelEntry } from "../../gpu-worker/config";
import { silentLog } from "../../gpu-worker/log";
import { Metrics } from "../../gpu-worker/metrics";
import { VramManager } from "../../gpu-worker/vram";
import { GpuWorker, modelLoader } from "../../gpu-worker/worker";
import { writeTinyGguf } from "../../tests/gpu-worker/support/tiny-gguf";
import { log } from "./common";

const MESSAGES = [{ role: "user", content: "Say hello to the bench." }];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (v: number) => `${v.toFixed(2)} ms`;

/**
 * The llama.cpp backend with a clock on each token the engine emits; with `paceMs`, tokens are handed to the
 * worker that far apart (the engine's pace for a real model: the tiny one makes a token in microseconds, so
 * unpaced they all queue behind the first post).
 */
function timedBackend(produced: number[], pace: { ms: number }): Backend {
  return {
    async load(entry, ctx) {
      const model = await (await backend("llama.cpp")).load(entry, ctx);
      return {
        async run(input, run) {
          let chain = Promise.resolve();
          const out = await model.run(input, {
            ...run,
            emit: (piece) => {
              chain = chain.then(async () => {
                if (pace.ms > 0) await new Promise((r) => setTimeout(r, pace.ms));
                produced.push(performance.now());
                run.emit?.(piece);
              });
            },
          });
          await chain;
          return out;
        },
        unload: () => model.unload(),
      };
    },
  };
}

/** Arrival time of each content chunk of one streamed completion. */
async function streamArrivals(url: string, token: string, maxTokens: number): Promise<{ start: number; at: number[] }> {
  const start = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: "local", messages: MESSAGES, max_tokens: maxTokens, temperature: 0, stream: true }),
  });
  if (!res.ok || !res.body) throw new Error(`local stream answered ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const at: number[] = [];
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now();
    buffer += decoder.decode(value, { stream: true });
    const events = buffer.split("\n\n");
    buffer = events.pop() ?? "";
    for (const event of events) {
      const data = event.replace(/^data: /, "");
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
      if (chunk.choices?.[0]?.delta?.content) at.push(now);
    }
  }
  return { start, at };
}

export async function benchLocalPath(opts: {
  base: string;
  token: string;
  workerSecret: string;
  runs: number;
  tokens: number;
  paceMs: number;
}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-bench-llm-local-"));
  const file = await writeTinyGguf(join(dir, "tiny.gguf"));
  const ctx: LoadContext = { device: "cpu", threads: 2, log: silentLog };
  const entry: ModelEntry = {
    id: "llm-chat-gguf",
    backend: "llama.cpp",
    path: file,
    vramMiB: 0,
    keepAliveMs: 600_000,
    concurrency: 1,
    pinned: false,
    options: { contextSize: 512 },
  };
  const options = { messages: MESSAGES, max_tokens: opts.tokens, temperature: 0 };

  // llama.cpp directly: time to the first token and per token after it.
  const direct: LoadedModel = await (await backend("llama.cpp")).load(entry, ctx);
  const dTtft: number[] = [];
  const dPer: number[] = [];
  for (let i = 0; i < opts.runs + 3; i++) {
    const times: number[] = [];
    const start = performance.now();
    await direct.run(
      { type: "llm.chat", text: "", options },
      {
        signal: new AbortController().signal,
        progress: () => {},
        log: silentLog,
        emit: () => times.push(performance.now()),
      },
    );
    if (i < 3) continue; // warm-up
    dTtft.push((times[0] ?? start) - start);
    dPer.push(((times.at(-1) ?? start) - (times[0] ?? start)) / Math.max(1, times.length - 1));
  }
  await direct.unload();

  const produced: number[] = [];
  const pace = { ms: 0 };
  const vram = new VramManager<ModelEntry, LoadedModel>({
    budgetMiB: 4096,
    load: modelLoader(async () => timedBackend(produced, pace), ctx),
  });
  const worker = new GpuWorker({
    config: {
      maxJobs: 1,
      types: ["llm.chat"],
      leaseWaitMs: 20_000,
      idlePollMs: 50,
      idlePollMaxMs: 500,
      heartbeatMs: 15_000,
      device: "cpu",
      threads: 2,
    },
    models: [entry],
    client: edgeClient(opts.base, opts.workerSecret),
    vram,
    metrics: new Metrics(),
    log: silentLog,
  });
  worker.start();
  try {
    const url = `${opts.base}/v1/chat/completions`;
    for (const paceMs of [0, opts.paceMs]) {
      pace.ms = paceMs;
      const added: number[] = [];
      const ttft: number[] = [];
      for (let i = 0; i < opts.runs + 3; i++) {
        produced.length = 0;
        const { start, at } = await streamArrivals(url, opts.token, opts.tokens);
        if (i < 3) continue; // warm-up: the model load, isolate start, connections
        const n = Math.min(at.length, produced.length);
        for (let t = 0; t < n; t++) added.push((at[t] ?? 0) - (produced[t] ?? 0));
        ttft.push((at[0] ?? start) - start);
      }
      log(
        `  job board, ${paceMs ? `tokens ${paceMs} ms apart` : "tokens as fast as the tiny model makes them"}: ` +
          `engine → client per token p50 ${ms(percentile(added, 50))}  p99 ${ms(percentile(added, 99))}; ` +
          `time to first token p50 ${ms(percentile(ttft, 50))}`,
      );
    }
    log(
      `  llama.cpp in-process (same GGUF): time to first token p50 ${ms(percentile(dTtft, 50))}, ` +
        `${ms(percentile(dPer, 50))} per token after it`,
    );
  } finally {
    await worker.stop(0);
    await vram.close();
    await rm(dir, { recursive: true, force: true });
  }
}
