// `npm run bench:gpu-worker`: the GPU worker on CPU against the production runtime (`npm run start`'s Miniflare on
// the built bundle). Jobs/s and submit → completed latency (p50/p95) per job type through the whole path (edge,
// board, worker, engine, artifact upload), then model load and unload times measured in this process.
//
// Knobs: BENCH_GPU_JOBS (jobs per type, 24), BENCH_GPU_CONCURRENCY (jobs in flight per type, 4),
// BENCH_GPU_MAX_JOBS (the worker's GPU_WORKER_MAX_JOBS, 4), BENCH_GPU_LOADS (load/unload repetitions, 3).
// Transcription runs whisper.cpp on the tiny generated model (tests/gpu-worker/support/tiny-whisper.ts): it measures
// the path and the decoder's fixed costs, not a real Whisper model's speed.
import { readFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { backend } from "../gpu-worker/backends";
import { HUMAN_DIR } from "../gpu-worker/backends/human";
import type { ModelEntry } from "../gpu-worker/config";
import { silentLog } from "../gpu-worker/log";
import type { JobRecord } from "../src/lib/jobs/protocol";
import { renderText } from "../tests/gpu-worker/support/images";
import { writeTinyWhisperModel } from "../tests/gpu-worker/support/tiny-whisper";
import { envInt, failBench, log, registerBenchUser, watchdog } from "./lib/common";
import { startBenchGpuSuite } from "./lib/gpu-suite";
import { percentile } from "./lib/load";

const NAME = "bench:gpu-worker";
const JOBS = envInt("BENCH_GPU_JOBS", 24, 1, 10_000);
const CONCURRENCY = envInt("BENCH_GPU_CONCURRENCY", 4, 1, 64);
const MAX_JOBS = envInt("BENCH_GPU_MAX_JOBS", 4, 1, 32);
const LOADS = envInt("BENCH_GPU_LOADS", 3, 1, 20);

interface Input {
  type: string;
  input: unknown;
}

async function api<T>(url: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, url), {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Submits a job and polls it (every 20 ms) until it finishes; the latency is submit → completed. */
async function runJob(url: string, token: string, job: Input): Promise<number> {
  const started = performance.now();
  const { id } = await api<JobRecord>(url, "/v1/jobs", token, job);
  for (;;) {
    const current = await api<JobRecord>(url, `/v1/jobs/${id}`, token);
    if (current.status === "completed") return performance.now() - started;
    if (!["queued", "running"].includes(current.status)) {
      throw new Error(`job ${id} (${job.type}) ended ${current.status}: ${current.error}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function throughput(url: string, token: string, job: Input) {
  // One warm-up job loads the model, so the numbers are for a loaded model.
  await runJob(url, token, job);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < JOBS) {
        next++;
        latencies.push(await runJob(url, token, job));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { type: job.type, jobsPerSecond: JOBS / seconds, p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

async function loadTimes(dir: string) {
  const whisper = await writeTinyWhisperModel(join(dir, "ggml-tiny-bench.bin"));
  const entries: ModelEntry[] = [
    { id: "espeak-ng", backend: "espeak-ng" },
    { id: "paddleocr-v4", backend: "paddleocr" },
    { id: "human-centernet", backend: "human" },
    { id: "whisper (tiny generated)", backend: "whisper.cpp", path: whisper },
  ].map((e) => ({ vramMiB: 0, keepAliveMs: 0, concurrency: 1, pinned: false, options: {}, ...e }) as ModelEntry);
  const rows = [];
  for (const entry of entries) {
    const engine = await backend(entry.backend);
    const loads: number[] = [];
    const unloads: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      let t = performance.now();
      const model = await engine.load(entry, { device: "cpu", threads: 0, log: silentLog });
      loads.push(performance.now() - t);
      t = performance.now();
      await model.unload();
      unloads.push(performance.now() - t);
    }
    const rest = loads.slice(1).sort((a, b) => a - b);
    rows.push({
      model: entry.id,
      firstLoadMs: loads[0] ?? 0,
      loadMs: rest.length ? (rest[Math.floor(rest.length / 2)] ?? 0) : (loads[0] ?? 0),
      unloadMs: unloads.sort((a, b) => a - b)[Math.floor(unloads.length / 2)] ?? 0,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const disarm = watchdog(NAME, 600_000);
  log(`${NAME} on ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}`);
  log(`${JOBS} jobs per type, ${CONCURRENCY} in flight, worker GPU_WORKER_MAX_JOBS=${MAX_JOBS}, device cpu`);
  const suite = await startBenchGpuSuite("tessera-bench-gpu", {}, { GPU_WORKER_MAX_JOBS: String(MAX_JOBS) });
  const { tessera, dir } = suite;
  try {
    const { accessToken } = await registerBenchUser(tessera, "benchgpu");
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const spoken = await fetch(new URL("/v1/audio/speech", tessera.url), {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "tts-1",
        input: "Three seconds of speech for the benchmark.",
        voice: "alloy",
        response_format: "wav",
      }),
    });
    const wav = new Uint8Array(await spoken.arrayBuffer());
    const jobs: Input[] = [
      { type: "speech", input: { text: "The quick brown fox jumps over the lazy dog." } },
      {
        type: "vision.ocr",
        input: { base64: b64(await renderText("Invoice 4821 paid in full")), mediaType: "image/png" },
      },
      {
        type: "vision.detect",
        input: { base64: b64(await readFile(join(HUMAN_DIR, "assets", "samples.jpg"))), mediaType: "image/jpeg" },
      },
      { type: "transcribe", input: { base64: b64(wav), mediaType: "audio/wav" } },
    ];
    const results = [];
    for (const job of jobs) {
      const r = await throughput(tessera.url, accessToken, job);
      results.push(r);
      log(
        `${r.type.padEnd(14)} ${r.jobsPerSecond.toFixed(2).padStart(7)} jobs/s   p50 ${r.p50.toFixed(0).padStart(5)} ms   p95 ${r.p95.toFixed(0).padStart(5)} ms`,
      );
    }
    const metrics = await (await fetch(`${suite.workerUrl}/metrics`)).text();
    const rss = /tessera_gpu_worker_model_vram_mib\{model="([^"]+)",kind="measured"\} (\d+)/g;
    const measured = Object.fromEntries([...metrics.matchAll(rss)].map((m) => [m[1], Number(m[2])]));
    log(`measured RSS growth per model load (MiB): ${JSON.stringify(measured)}`);
    await suite.stopWorker();
    log();
    log(`model load / unload (in this process, CPU; first load includes importing the engine; median of the rest):`);
    const loads = await loadTimes(dir);
    for (const l of loads) {
      log(
        `${l.model.padEnd(26)} first load ${l.firstLoadMs.toFixed(0).padStart(5)} ms   load ${l.loadMs.toFixed(0).padStart(5)} ms   unload ${l.unloadMs.toFixed(1).padStart(6)} ms`,
      );
    }
    log(
      JSON.stringify({
        bench: NAME,
        jobs: JOBS,
        concurrency: CONCURRENCY,
        maxJobs: MAX_JOBS,
        results,
        loads,
        measured,
      }),
    );
  } finally {
    await suite.close();
    disarm();
  }
}

main().catch(failBench(NAME));
