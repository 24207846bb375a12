// The lease loop against a scripted edge: capacity, inputs (signed URL or credentialed route), artifacts, heartbeats
// with progress, cancellation through the AbortSignal, a lost lease, shutdown with a grace period, clear failures.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LoadedModel } from "../../gpu-worker/backends/types";
import { edgeClient } from "../../gpu-worker/client";
import type { ModelEntry } from "../../gpu-worker/config";
import { ModelNotProvisioned } from "../../gpu-worker/errors";
import { silentLog } from "../../gpu-worker/log";
import { Metrics } from "../../gpu-worker/metrics";
import { VramManager } from "../../gpu-worker/vram";
import { GpuWorker } from "../../gpu-worker/worker";
import { type FakeEdge, lease, SECRET, startFakeEdge } from "./support/fake-edge";

const MODELS: ModelEntry[] = [
  {
    id: "espeak-ng",
    backend: "espeak-ng",
    vramMiB: 0,
    keepAliveMs: 60_000,
    concurrency: 4,
    pinned: false,
    options: {},
  },
  {
    id: "paddleocr-v4",
    backend: "paddleocr",
    vramMiB: 1024,
    keepAliveMs: 60_000,
    concurrency: 1,
    pinned: false,
    options: {},
  },
  {
    id: "whisper-large-v3-ggml",
    backend: "whisper.cpp",
    vramMiB: 4096,
    keepAliveMs: 60_000,
    concurrency: 1,
    pinned: false,
    options: {},
  },
];

/** A model whose run waits for its signal or `release()`, echoing the input size. */
function slowModels() {
  const releases = new Map<string, () => void>();
  const seen: { job: string; signal: AbortSignal }[] = [];
  const load = async (entry: ModelEntry): Promise<LoadedModel> => {
    if (entry.backend === "whisper.cpp")
      throw new ModelNotProvisioned(
        "transcription needs a model file: /srv/tessera/models/ggml-large-v3.bin is missing; provision it",
      );
    return {
      async run(input, ctx) {
        const job = input.text ?? String(input.bytes?.byteLength);
        seen.push({ job, signal: ctx.signal });
        ctx.progress(0.5);
        await new Promise<void>((resolve, reject) => {
          releases.set(job, resolve);
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
        });
        return {
          result: { artifact: "out", echoed: job },
          artifacts: [{ name: "out", contentType: "audio/wav", bytes: new Uint8Array(10) }],
        };
      },
      async unload() {},
    };
  };
  return { load, releases, seen, release: (job: string) => releases.get(job)?.() };
}

let edge: FakeEdge;
let worker: GpuWorker;
let models: ReturnType<typeof slowModels>;

function startWorker(maxJobs = 2) {
  models = slowModels();
  const vram = new VramManager<ModelEntry, LoadedModel>({ budgetMiB: 24_576, load: models.load });
  worker = new GpuWorker({
    config: {
      maxJobs,
      types: ["speech", "vision.ocr", "transcribe"],
      leaseWaitMs: 0,
      idlePollMs: 20,
      idlePollMaxMs: 20,
      heartbeatMs: 100,
      device: "cpu",
      threads: 0,
    },
    models: MODELS,
    client: edgeClient(edge.url, SECRET),
    vram,
    metrics: new Metrics(),
    log: silentLog,
  });
  worker.start();
  return worker;
}

const calls = (path: RegExp) => edge.calls.filter((c) => path.test(c.path));

beforeEach(async () => {
  edge = await startFakeEdge();
});
afterEach(async () => {
  await worker?.stop(0);
  await edge.close();
});

describe("the lease loop", () => {
  it("leases only as many jobs as it has free slots, reporting its types, models and free VRAM", async () => {
    edge.queue.push(lease("a", { input: { text: "a" } }), lease("b", { input: { text: "b" } }), lease("c"));
    startWorker(2);
    await vi.waitFor(() => expect(models.seen.map((s) => s.job).sort()).toEqual(["a", "b"]));
    const [first] = calls(/\/lease$/);
    expect(first?.auth).toBe(`Bearer ${SECRET}`);
    expect(first?.body).toEqual({
      freeVramMiB: 24_576,
      loadedModels: [],
      max: 2,
      types: ["speech", "vision.ocr", "transcribe"],
      waitMs: 0,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(edge.queue.map((j) => j.jobId)).toEqual(["c"]); // no slot free: c stays queued at the edge
    models.release("a");
    await vi.waitFor(() => expect(edge.queue).toEqual([]));
    const later = calls(/\/lease$/).at(-1)?.body as { loadedModels: string[]; max: number };
    expect(later.loadedModels).toEqual(["espeak-ng"]);
  });

  it("downloads byte input from the signed URL without the credential, else from the input route with it", async () => {
    edge.inputs.set("img1", new Uint8Array(7));
    edge.inputs.set("img2", new Uint8Array(9));
    const bytes = { r2Key: "k", mediaType: "image/png", bytes: 7 };
    edge.queue.push(
      lease("img1", { type: "vision.ocr", model: "paddleocr-v4", input: bytes, inputUrl: `${edge.url}/signed/img1` }),
      lease("img2", { type: "vision.ocr", model: "paddleocr-v4", input: { ...bytes, bytes: 9 } }),
    );
    startWorker(2);
    await vi.waitFor(() => expect(models.seen.map((s) => s.job).sort()).toEqual(["7"]));
    models.release("7");
    await vi.waitFor(() => expect(models.seen.map((s) => s.job)).toContain("9"));
    const signed = calls(/^\/signed\/img1$/)[0];
    expect(signed?.auth).toBeUndefined();
    const routed = calls(/\/jobs\/img2\/input$/)[0];
    expect(routed?.auth).toBe(`Bearer ${SECRET}`);
  });

  it("uploads artifacts with their media type, then completes with the result naming them", async () => {
    edge.queue.push(lease("j1", { input: { text: "j1" } }));
    startWorker(1);
    await vi.waitFor(() => expect(models.seen).toHaveLength(1));
    models.release("j1");
    await vi.waitFor(() => expect(edge.finished("j1")).toBeDefined());
    const upload = calls(/\/jobs\/j1\/artifacts\/out$/)[0];
    expect(upload).toMatchObject({ method: "PUT", contentType: "audio/wav", bytes: 10 });
    expect(edge.finished("j1")).toMatchObject({
      path: "/v1/gpu/jobs/j1/complete",
      body: { leaseId: "lease-j1", result: { artifact: "out", echoed: "j1" } },
    });
    expect(edge.calls.indexOf(upload as never)).toBeLessThan(edge.calls.indexOf(edge.finished("j1") as never));
  });

  it("heartbeats with progress; a cancel aborts the job's signal and it fails as cancelled, not retryable", async () => {
    edge.queue.push(lease("c1", { input: { text: "c1" } }));
    startWorker(1);
    await vi.waitFor(() => expect(calls(/\/jobs\/c1\/heartbeat$/).length).toBeGreaterThan(0));
    expect(calls(/\/jobs\/c1\/heartbeat$/)[0]?.body).toEqual({ leaseId: "lease-c1", progress: 0.5 });
    edge.cancel.add("c1");
    await vi.waitFor(() => expect(edge.finished("c1")).toBeDefined());
    expect(models.seen[0]?.signal.aborted).toBe(true);
    expect(edge.finished("c1")).toMatchObject({
      path: "/v1/gpu/jobs/c1/fail",
      body: { leaseId: "lease-c1", error: "cancelled by its owner", retryable: false },
    });
  });

  it("drops a job whose lease was lost (409 on heartbeat) without completing or failing it", async () => {
    edge.queue.push(lease("l1", { input: { text: "l1" } }));
    edge.lostLeases.add("l1");
    startWorker(1);
    await vi.waitFor(() => expect(models.seen[0]?.signal.aborted).toBe(true));
    await new Promise((r) => setTimeout(r, 100));
    expect(edge.finished("l1")).toBeUndefined();
    expect(worker.running.size).toBe(0);
  });

  it("fails a job at once, for good, when its model is not provisioned", async () => {
    edge.inputs.set("t1", new Uint8Array(44));
    edge.queue.push(
      lease("t1", {
        type: "transcribe",
        model: "whisper-large-v3-ggml",
        input: { r2Key: "k", mediaType: "audio/wav", bytes: 44 },
      }),
    );
    startWorker(1);
    await vi.waitFor(() => expect(edge.finished("t1")).toBeDefined());
    expect(edge.finished("t1")?.body).toMatchObject({ retryable: false, error: expect.stringContaining("provision") });
    // The job's owner reads the reason, never this host's disk layout.
    const reported = String((edge.finished("t1")?.body as { error?: string } | undefined)?.error);
    expect(reported).toContain("<path>");
    expect(reported).not.toContain("/srv/tessera");
  });

  it("waits out a 429 with Retry-After before leasing again", async () => {
    edge.leaseStatus.push(429);
    edge.queue.push(lease("r1", { input: { text: "r1" } }));
    const started = Date.now();
    startWorker(1);
    await vi.waitFor(() => expect(models.seen).toHaveLength(1), { timeout: 5_000 });
    expect(calls(/\/lease$/)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("shutdown", () => {
  it("stops leasing, lets a job finish within the grace period, and releases the rest unfinished", async () => {
    edge.queue.push(lease("s1", { input: { text: "s1" } }), lease("s2", { input: { text: "s2" } }));
    startWorker(2);
    await vi.waitFor(() => expect(models.seen).toHaveLength(2));
    const leaseCalls = calls(/\/lease$/).length;
    const stopped = worker.stop(300);
    setTimeout(() => models.release("s1"), 50); // s1 finishes inside the grace period, s2 never does
    await stopped;
    expect(calls(/\/lease$/).length).toBe(leaseCalls);
    expect(edge.finished("s1")?.path).toBe("/v1/gpu/jobs/s1/complete");
    expect(edge.finished("s2")).toMatchObject({ path: "/v1/gpu/jobs/s2/release", body: { leaseId: "lease-s2" } });
  });
});
