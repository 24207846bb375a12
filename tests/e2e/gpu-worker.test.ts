// The GPU worker end to end against `wrangler dev`: a worker started as `npm run dev` starts it (CPU mode, real
// engines, the Worker's GPU_WORKER_BOOTSTRAP_SECRET) answers the OpenAI audio routes and vision jobs; and a worker
// killed with SIGKILL in the middle of a job loses nothing: its lease expires and the job completes on the worker
// started after it. The worker runs only while this file does: jobs.test.ts scripts workers of its own for every
// type, and a real one beside them would take their jobs.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, type ManagedProcess, waitForHttp } from "../../dev/lib/processes";
import { startGpuWorker } from "../../dev/lib/suite";
import { decodeWav, durationSeconds, rmsDbfs } from "../../gpu-worker/audio/wav";
import type { FileItem, SearchResponse } from "../../src/lib/files/model";
import type { LegacyFusionResult } from "../../src/lib/fusion/legacy";
import type { FusionResult } from "../../src/lib/fusion/model";
import type { JobRecord } from "../../src/lib/jobs/protocol";
import { renderText } from "../gpu-worker/support/images";
import { TINY_WHISPER_TEXT } from "../gpu-worker/support/tiny-whisper";
import { call, poll, type Reply, send } from "../support/client";
import { docx, pdf } from "../support/documents";
import { threeModalityInputs } from "../support/fusion-inputs";
import { writeE2eModelsFile } from "./gpu-models";
import { Client } from "./hub-client";
import { deleteAdmin, signUp, signUpAdmin, type User } from "./users";

const base = inject("workerUrl");
/**
 * Short polls instead of long-polls: the board keeps a long-poll waiting after its worker has gone (stopped or
 * killed), and that call would still take the next job, costing it an attempt and a lease expiry. A test that
 * counts attempts (here and in jobs.test.ts, which runs after) must not leave such a call behind.
 */
const SHORT_POLL = { GPU_WORKER_LEASE_WAIT_MS: "0", GPU_WORKER_IDLE_POLL_MS: "50", GPU_WORKER_IDLE_POLL_MAX_MS: "200" };
let user: User;
let admin: User;
let scratch: string;
let suiteWorker: ManagedProcess | undefined;
let suiteWorkerUrl: string;
const logs: string[] = [];

beforeAll(async () => {
  [user, admin] = await Promise.all([signUp("gpu"), signUpAdmin("gpuadmin")]);
  scratch = await mkdtemp(join(tmpdir(), "tessera-e2e-gpu-"));
  const port = await freePort();
  suiteWorkerUrl = `http://127.0.0.1:${port}`;
  suiteWorker = startGpuWorker({
    secret: inject("gpuWorkerSecret"),
    edgeUrl: base,
    port,
    env: {
      GPU_WORKER_MODELS: await writeE2eModelsFile(scratch),
      // vision.classify is left to the worker-kill test's own workers.
      GPU_WORKER_TYPES: "speech,transcribe,vision.ocr,vision.detect,document.extract",
      GPU_WORKER_THREADS: "2",
      ...SHORT_POLL,
      LOG_LEVEL: "warn",
    },
    write: (line) => logs.push(line),
  });
  await waitForHttp(`${suiteWorkerUrl}/health`, suiteWorker, 30_000);
});
afterAll(async () => {
  await suiteWorker?.stop();
  if (admin) await deleteAdmin(admin);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

const post = (path: string, body: unknown, token = user.token) => send(base, "POST", path, { body, token });
const readJob = (id: string) => call<JobRecord>(base, "GET", `/v1/jobs/${id}`, { token: user.token });

async function job(id: string): Promise<JobRecord> {
  return (await readJob(id)).body;
}

/** Polls a job until it is finished (or the timeout passes), backing off and honouring Retry-After. */
async function finished(id: string, timeoutMs = 30_000): Promise<JobRecord> {
  const done = (r: Reply<JobRecord>) => r.status === 200 && !["queued", "running"].includes(r.body.status);
  return (await poll(() => readJob(id), done, timeoutMs)).body;
}

async function submit(type: string, bytes: Uint8Array, mediaType: string): Promise<JobRecord> {
  const res = await post("/v1/jobs", { type, input: { base64: Buffer.from(bytes).toString("base64"), mediaType } });
  expect(res.status).toBe(202);
  return (await res.json()) as JobRecord;
}

describe("documents through the GPU worker (pdf.js, OCR for scans)", () => {
  it("POST /v1/documents/extract reads a PDF on the worker: its text layer, and a scanned page through OCR", async () => {
    const scan = await renderText("Scanned receipt 7731", { width: 520, height: 120 });
    const bytes = await pdf([{ heading: "Ledger", lines: ["Opening balance noted."] }, { scan }]);
    const res = await fetch(`${base}/v1/documents/extract`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json", prefer: "wait=60" },
      body: JSON.stringify({ file: { base64: Buffer.from(bytes).toString("base64"), mediaType: "application/pdf" } }),
    });
    const body = (await res.json()) as { document: never };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const { document } = body as {
      document: { format: string; parts: { number: number; source: string; blocks: { text?: string }[] }[] };
    };
    expect(document.format).toBe("pdf");
    expect(document.parts.map((p) => [p.number, p.source])).toEqual([
      [1, "text"],
      [2, "ocr"],
    ]);
    expect(document.parts[0]?.blocks.map((b) => b.text)).toEqual(["Ledger", "Opening balance noted."]);
    expect(document.parts[1]?.blocks.map((b) => b.text)).toEqual(["Scanned receipt 7731"]);
  });

  it("file search finds words inside an uploaded PDF and DOCX, with the page in the snippet", async () => {
    const upload = async (path: string, bytes: Uint8Array, type: string) => {
      const res = await fetch(`${base}/v1/files/by-path?path=${encodeURIComponent(path)}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${user.token}`, "content-type": type },
        body: bytes,
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const pdfId = await upload(
      "/docs/harbour.pdf",
      await pdf([{ lines: ["Cover page only."] }, { lines: ["The quartermaster logged marlinspike repairs."] }]),
      "application/pdf",
    );
    await upload(
      "/docs/tides.docx",
      docx([{ text: "First page." }, "pagebreak", { text: "Spring tides flooded the barbican." }]),
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    );
    // The PDF's text arrives through the queue once the worker has read it.
    const indexed = await poll(
      () => call<FileItem>(base, "GET", `/v1/files/${pdfId}`, { token: user.token }),
      (r) => r.status === 200 && r.body.index.status !== "queued",
    );
    expect(indexed.body.index.status).toBe("indexed");
    const search = async (q: string) => {
      return (await call<SearchResponse>(base, "GET", `/v1/files/search?q=${q}`, { token: user.token })).body.results;
    };
    const [inPdf] = await search("marlinspike");
    expect(inPdf?.item.name).toBe("harbour.pdf");
    expect(inPdf?.snippet).toContain("[page 2]");
    const [inDocx] = await search("barbican");
    expect(inDocx?.item.name).toBe("tides.docx");
    expect(inDocx?.snippet).toContain("[page 2]");
  });
});

describe("fusion through the real engines", () => {
  /** POSTs a fusion waiting up to 60 s and, while it still runs (a loaded machine), polls it with backoff. */
  async function fused(body: unknown): Promise<FusionResult> {
    const res = await send(base, "POST", "/v1/fusion", { body, token: user.token, headers: { prefer: "wait=60" } });
    expect([200, 202]).toContain(res.status);
    let result = (await res.json()) as FusionResult;
    for (let delay = 250, deadline = Date.now() + 120_000; result.status === "running" && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
      const again = await fetch(`${base}/v1/fusion/${result.id}`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      result = (await again.json()) as FusionResult;
    }
    return result;
  }

  it("an image, a spoken clip and a PDF table that share a word: connected across all three, synthesized once", async () => {
    // Each input read by its own engine: PaddleOCR, whisper.cpp, pdf.js (tests/support/fusion-inputs.ts).
    const inputs = await threeModalityInputs(base, user.token);
    // The owner watches progress on their hub channel.
    const watcher = await Client.open(base, `user:${user.id}`, user.token);
    const result = await fused({ inputs, model: "fusion" });
    expect(result.status).toBe("completed");
    expect(result.modalities.map((m) => [m.type, m.status])).toEqual([
      ["image", "ok"],
      ["audio", "ok"],
      ["document", "ok"],
    ]);
    expect(result.entities).toContainEqual({ name: "Tessera", inputs: [0, 1, 2] });
    const tessera = result.connections.filter((c) => c.kind === "same_entity" && c.evidence.startsWith('"Tessera"'));
    expect(tessera.map((c) => [c.from, c.to])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    // The evidence says where: written in the image, spoken at a time span, in the PDF's table on its page.
    const evidence = tessera.map((c) => c.evidence).join(" | ");
    expect(evidence).toContain("written (OCR)");
    expect(evidence).toMatch(/spoken at \d+\.\d–\d+\.\d s in input 1/);
    expect(evidence).toContain("a table on page 1 in input 2");
    // One synthesis call through the LLM router, whose prompt cited every input.
    expect(result.synthesis).toMatchObject({ status: "done", model: "fusion" });
    expect(result.summary).toBe("Fused inputs: 0 image, 1 audio, 2 document.");
    expect(result.timings.jobsMs).toBeGreaterThan(0);
    // Progress reached the owner's channel: each input as it finished, then the fusion's end.
    const progress = (f: { data?: unknown }) =>
      f.data as { event?: string; fusionId?: string; input?: number; status?: string };
    await watcher.until((f) => progress(f).fusionId === result.id && progress(f).input === undefined, 10_000);
    const mine = watcher.frames.map(progress).filter((d) => d.event === "fusion.progress" && d.fusionId === result.id);
    expect(
      mine
        .filter((d) => d.input !== undefined)
        .map((d) => [d.input, d.status])
        .sort(),
    ).toEqual([
      [0, "ok"],
      [1, "ok"],
      [2, "ok"],
    ]);
    expect(mine.at(-1)).toMatchObject({ status: "completed" });
    watcher.ws.close();

    // The same fusion in the old library's shape.
    const uuid = result.id.replace(/^fus_(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
    const legacy = await fetch(`${base}/api/v1/fusion/${uuid}`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(legacy.status).toBe(200);
    const old = (await legacy.json()) as LegacyFusionResult;
    expect(old.cross_modal_connections).toContainEqual(
      expect.objectContaining({ source_modality: "vision", target_modality: "audio", connection_type: "semantic" }),
    );
    expect(old.emergent_patterns).toContainEqual(
      expect.objectContaining({
        id: "entity:Tessera",
        pattern_type: "correlation",
        modalities: ["vision", "audio", "text"],
      }),
    );
    expect(old.reasoning[0]).toBe(result.summary);
  });

  it("one modality failing (a corrupt PDF) leaves a partial result that says why and keeps the others' findings", async () => {
    const corrupt = new TextEncoder().encode("%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref");
    const result = await fused({
      inputs: [
        { type: "text", text: "The Northgate ledger is attached.", name: "note" },
        {
          type: "document",
          base64: Buffer.from(corrupt).toString("base64"),
          mediaType: "application/pdf",
          name: "ledger.pdf",
        },
      ],
    });
    expect(result.status).toBe("partial");
    const [note, ledger] = result.modalities;
    expect(note).toMatchObject({ status: "ok", source: "note" });
    expect(note?.findings.length).toBeGreaterThan(0);
    expect(ledger).toMatchObject({ status: "failed", source: "ledger.pdf", findings: [] });
    expect(ledger?.error).toContain("not a readable PDF");
    expect(ledger?.error).not.toMatch(/\/(tmp|home|work|root)\//);
    expect(result.synthesis.status).toBe("skipped");
  });
});

describe.concurrent("a GPU worker as npm run dev starts it (CPU, real engines)", () => {
  it("POST /v1/audio/speech returns a WAV of the text, and /v1/audio/transcriptions of that WAV returns text", async () => {
    const speech = await post("/v1/audio/speech", {
      model: "tts-1",
      input: "Good morning, this is Tessera speaking.",
      voice: "nova",
      response_format: "wav",
    });
    expect(speech.status).toBe(200);
    expect(speech.headers.get("content-type")).toBe("audio/wav");
    const wav = new Uint8Array(await speech.arrayBuffer());
    const audio = decodeWav(wav);
    expect(durationSeconds(audio)).toBeGreaterThan(1.2);
    expect(durationSeconds(audio)).toBeLessThan(5);
    expect(rmsDbfs(audio.samples)).toBeGreaterThan(-35);

    const form = new FormData();
    form.set("file", new Blob([wav], { type: "audio/wav" }), "speech.wav");
    form.set("model", "whisper-1");
    form.set("response_format", "verbose_json");
    const res = await fetch(`${base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
      body: form,
    });
    expect(res.status).toBe(200);
    const transcript = (await res.json()) as { text: string; duration: number; segments: { text: string }[] };
    // whisper.cpp ran the model file the setup wrote, whose weights decode any audio to this phrase.
    expect(transcript.text).toBe(TINY_WHISPER_TEXT);
    expect(transcript.duration).toBeCloseTo(durationSeconds(audio), 1);
    expect(transcript.segments.map((s) => s.text)).toEqual([TINY_WHISPER_TEXT]);
  });

  it("an OCR job returns the text of the image", async () => {
    const submitted = await submit("vision.ocr", await renderText("Tessera reads printed text"), "image/png");
    const done = await finished(submitted.id);
    expect(done).toMatchObject({ status: "completed", result: { text: "Tessera reads printed text" } });
  });

  it("a detection job finds the people in an image", async () => {
    const { HUMAN_DIR } = await import("../../gpu-worker/backends/human");
    const { readFile } = await import("node:fs/promises");
    const image = new Uint8Array(await readFile(join(HUMAN_DIR, "assets", "samples.jpg")));
    const done = await finished((await submit("vision.detect", image, "image/jpeg")).id);
    expect(done.status).toBe("completed");
    const result = done.result as { objects: { label: string }[]; faces: unknown[] };
    expect(result.objects.some((o) => o.label === "person")).toBe(true);
    expect(result.faces.length).toBeGreaterThan(0);
  });

  it("reports its models, VRAM and finished jobs on /health and /metrics", async () => {
    const spoken = await post("/v1/audio/speech", {
      model: "tts-1",
      input: "metrics",
      voice: "alloy",
      response_format: "wav",
    });
    expect(spoken.status).toBe(200);
    const health = (await (await fetch(`${suiteWorkerUrl}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", device: "cpu", vram: { budgetMiB: 24_576 } });
    const metrics = await (await fetch(`${suiteWorkerUrl}/metrics`)).text();
    expect(metrics).toContain('tessera_gpu_worker_model_loaded{model="espeak-ng",state="ready"} 1');
    expect(metrics).toMatch(/tessera_gpu_worker_jobs_total\{type="speech",outcome="completed"\} [1-9]/);
    expect(metrics).toMatch(/tessera_gpu_worker_job_seconds_count\{model="espeak-ng"\} [1-9]/);
    expect(metrics).toContain("tessera_gpu_worker_vram_free_mib");
  });

  it("a worker killed with SIGKILL in the middle of a job: the job completes after a new worker starts", {
    timeout: 60_000,
  }, async () => {
    // The job runs on a remote-fallback model (hf-inference) served here, so the test decides when it is "in the
    // middle": the first request is held open, and the worker is killed while it waits.
    const dir = await mkdtemp(join(tmpdir(), "tessera-gpu-kill-"));
    const requests: string[] = [];
    let hold = true;
    const server: Server = createServer((req, res) => {
      req.resume();
      requests.push(req.url ?? "");
      if (hold) return; // never answered: the worker holding this job is killed meanwhile
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify([{ label: "tabby cat", score: 0.93 }]));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const address = server.address();
    const endpointUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const models = join(dir, "models.json");
    await writeFile(
      models,
      JSON.stringify({
        models: [
          { id: "vit-base-patch16-224", backend: "hf-inference", vramMiB: 0, options: { endpointUrl, model: "vit" } },
        ],
      }),
    );
    const issued = await post("/v1/admin/gpu-workers", { name: "e2e-kill" }, admin.token);
    const { secret } = (await issued.json()) as { secret: string };
    const start = async (name: string): Promise<ManagedProcess> =>
      startGpuWorker({
        name,
        secret,
        edgeUrl: base,
        port: await freePort(),
        env: {
          GPU_WORKER_MODELS: models,
          GPU_WORKER_TYPES: "vision.classify",
          ...SHORT_POLL,
          LOG_LEVEL: "warn",
        },
        write: () => {},
      });
    let first: ManagedProcess | undefined;
    let second: ManagedProcess | undefined;
    try {
      first = await start("gpu-a");
      const submitted = await submit("vision.classify", await renderText("a cat"), "image/png");
      const deadline = Date.now() + 20_000;
      while (requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(requests.length).toBe(1);
      expect(await job(submitted.id)).toMatchObject({ status: "running", attempts: 1 });

      process.kill(-(first.child.pid as number), "SIGKILL");
      await first.exited;
      hold = false;
      second = await start("gpu-b");
      // Nothing tells the edge the worker died: its lease runs out (60 s), the job is queued again, and the new
      // worker gets it after the backoff.
      const done = await finished(submitted.id, 40_000);
      expect(done).toMatchObject({
        status: "completed",
        attempts: 2,
        result: { labels: [{ label: "tabby cat", score: 0.93 }] },
      });
    } finally {
      await Promise.all([first?.stop(), second?.stop()]);
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Alone, not beside the tests above: four encodes and two whisper runs on a loaded machine would push their jobs past
// the suite's short leases (JOBS_LEASE_MS=4000).
describe("the openai SDK against the real GPU worker", () => {
  it("the openai SDK gets real mp3, opus, aac, flac, wav and pcm from /v1/audio/speech, and transcribes and translates the mp3", {
    timeout: 120_000,
  }, async () => {
    const sdk = new OpenAI({ apiKey: user.token, baseURL: `${base}/v1`, maxRetries: 0 });
    const magic: Record<string, (b: Uint8Array) => boolean> = {
      mp3: (b) => ascii(b, 0, 3) === "ID3" || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0),
      opus: (b) => ascii(b, 0, 4) === "OggS" && ascii(b, 28, 36) === "OpusHead",
      aac: (b) => b[0] === 0xff && ((b[1] ?? 0) & 0xf6) === 0xf0,
      flac: (b) => ascii(b, 0, 4) === "fLaC",
      wav: (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WAVE",
      // OpenAI's pcm: headerless 16-bit samples.
      pcm: (b) => b.length > 0 && b.length % 2 === 0 && ascii(b, 0, 4) !== "RIFF",
    };
    let mp3: Uint8Array | undefined;
    for (const format of [undefined, "opus", "aac", "flac", "wav", "pcm"] as const) {
      const res = await sdk.audio.speech.create({
        model: "tts-1",
        input: "Encoded by the worker.",
        voice: "marin",
        ...(format ? { response_format: format } : {}),
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      const name = format ?? "mp3";
      expect(magic[name]?.(bytes), name).toBe(true);
      if (!format) mp3 = bytes;
    }
    const file = await toFile(mp3 ?? new Uint8Array(), "speech.mp3", { type: "audio/mpeg" });
    const transcript = await sdk.audio.transcriptions.create({
      file,
      model: "whisper-1",
      response_format: "verbose_json",
    });
    expect(transcript.text).toBe(TINY_WHISPER_TEXT);
    expect(transcript.segments?.[0]).toMatchObject({
      id: 0,
      seek: 0,
      tokens: [],
      compression_ratio: expect.any(Number),
    });
    const translation = await sdk.audio.translations.create({ file, model: "whisper-1" });
    expect(translation.text).toBe(TINY_WHISPER_TEXT);
    const health = (await (await fetch(`${suiteWorkerUrl}/health`)).json()) as { audio: { encode: string[] } };
    expect(health.audio.encode).toEqual(expect.arrayContaining(["libmp3lame", "libopus", "aac", "flac"]));
  });
});
