// /v1/audio through the official `openai` npm SDK, unchanged, over the Worker's own fetch, with a scripted GPU worker:
// every route and response format, the newer voices, the slow-job and failure paths (never a 2xx that is not the
// result, never a retry that makes a second job), and an SDK retry after a dropped connection joining its first job.
import { exports } from "cloudflare:workers";
import OpenAI, { APIError, BadRequestError, toFile } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { unsupportedFormatError } from "../../src/lib/audio/speech-formats";
import type { JobLease, JobRecord } from "../../src/lib/jobs/protocol";
import { newWorker } from "./gpu-worker";
import { api, createAdmin, freshIp, json, registerUser, send, type Tokens } from "./support";

type Worker = Awaited<ReturnType<typeof newWorker>>;

let admin: Tokens;
let worker: Worker;
beforeAll(async () => {
  admin = await createAdmin();
  worker = await newWorker(admin.accessToken, "openai-sdk-gpu");
});

/** Every request the SDK makes, as the Worker saw it, for the tests that count attempts. */
interface Seen {
  retryCounts: string[];
}

/** An SDK client for a fresh user, talking to the Worker in this isolate; `drop` loses the first response. */
async function client(opts: { drop?: boolean } = {}): Promise<{ sdk: OpenAI; user: Tokens; seen: Seen }> {
  const user = await registerUser();
  const ip = freshIp();
  const seen: Seen = { retryCounts: [] };
  let dropped = false;
  const sdk = new OpenAI({
    apiKey: user.accessToken,
    baseURL: "https://tessera.test/v1",
    maxRetries: 2,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      // The SDK probes its fetch with a `data:` URL before a multipart upload: not a request to the API.
      if (request.url.startsWith("data:")) return fetch(request);
      request.headers.set("CF-Connecting-IP", ip);
      seen.retryCounts.push(request.headers.get("x-stainless-retry-count") ?? "none");
      const response = exports.default.fetch(request);
      if (opts.drop && !dropped) {
        // The request reached the server; its answer never reaches the client (a connection lost on the way).
        dropped = true;
        response.catch(() => {});
        throw new TypeError("fetch failed: connection reset");
      }
      return response;
    },
  });
  return { sdk, user, seen };
}

async function jobsOf(user: Tokens): Promise<JobRecord[]> {
  return (await json<{ jobs: JobRecord[] }>(await api("GET", "/v1/jobs", { token: user.accessToken }))).jobs;
}

/** The user's one job, once the waiting request has made it. */
async function onlyJob(user: Tokens): Promise<JobRecord> {
  for (let wait = 10; wait < 5000; wait *= 1.5) {
    const jobs = await jobsOf(user);
    if (jobs.length > 0) {
      expect(jobs).toHaveLength(1);
      return jobs[0] as JobRecord;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error("the job never appeared");
}

async function completeWithArtifact(lease: JobLease, bytes: Uint8Array, contentType: string) {
  const put = await send("PUT", `/v1/gpu/jobs/${lease.jobId}/artifacts/speech?leaseId=${lease.leaseId}`, {
    token: worker.secret,
    body: bytes,
    headers: { "Content-Type": contentType },
  });
  expect(put.status).toBe(201);
  const done = await worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/complete`, {
    leaseId: lease.leaseId,
    result: { artifact: "speech" },
  });
  expect(done.status).toBe(200);
}

const MEDIA = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

describe("audio.speech.create", () => {
  it("answers every response_format with the worker's audio in that format (mp3 by default)", async () => {
    for (const format of [undefined, "opus", "aac", "flac", "wav", "pcm"] as const) {
      const { sdk, user } = await client();
      const pending = sdk.audio.speech.create({
        model: "tts-1",
        input: `Hello in ${format ?? "the default"}`,
        voice: "alloy",
        ...(format ? { response_format: format } : {}),
      });
      const lease = await worker.leaseJob((await onlyJob(user)).id);
      const asked = format ?? "mp3";
      expect(lease.options).toMatchObject({ voice: "af_alloy", format: asked, speed: 1 });
      const bytes = new TextEncoder().encode(`${asked} bytes`);
      await completeWithArtifact(lease, bytes, MEDIA[asked]);
      const res = await pending;
      expect(res.headers.get("content-type"), asked).toBe(MEDIA[asked]);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    }
  });

  it("maps the newer voices (marin, cedar, ash, ballad, coral, sage, verse) to available ones", async () => {
    for (const voice of ["marin", "cedar", "ash", "ballad", "coral", "sage", "verse"] as const) {
      const { sdk, user } = await client();
      const pending = sdk.audio.speech.create({ model: "gpt-4o-mini-tts", input: "hi", voice, response_format: "wav" });
      const lease = await worker.leaseJob((await onlyJob(user)).id);
      expect(lease.options.voice, voice).toMatch(/^[ab][fm]_[a-z]+$/);
      await completeWithArtifact(lease, new Uint8Array([1, 2, 3]), "audio/wav");
      expect((await pending).status).toBe(200);
    }
  });

  it("answers a job still running at the end of the wait with 504 and its id, and the SDK does not retry", async () => {
    const { sdk, user, seen } = await client();
    const err = await sdk.audio.speech.create({ model: "tts-1", input: "slow", voice: "nova" }).catch((e) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(504);
    const job = await onlyJob(user);
    expect(err.headers.get("x-job-id")).toBe(job.id);
    expect(err.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(err.message).toContain(job.id);
    expect(seen.retryCounts).toEqual(["0"]);
    await api("DELETE", `/v1/jobs/${job.id}`, { token: user.accessToken });
  });

  it("answers a permanent failure with 502 that the SDK does not retry, naming no path on the worker", async () => {
    const { sdk, user, seen } = await client();
    const pending = sdk.audio.speech.create({ model: "tts-1", input: "fail", voice: "echo" }).catch((e) => e);
    const job = await onlyJob(user);
    const lease = await worker.leaseJob(job.id);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: lease.leaseId,
      error: "no model file at /srv/models/kokoro/voice.onnx or C:\\models\\voice.onnx",
      retryable: false,
    });
    const err = await pending;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ code: "upstream_error" });
    expect(err.message).not.toContain("/srv/models");
    expect(err.message).not.toContain("C:\\");
    expect(err.message).toContain("<path>");
    expect(seen.retryCounts).toEqual(["0"]);
    expect(await jobsOf(user)).toHaveLength(1);
  });

  it("joins the first try's job when the SDK retries after a lost connection", async () => {
    const { sdk, user, seen } = await client({ drop: true });
    const pending = sdk.audio.speech.create({
      model: "tts-1",
      input: "retried",
      voice: "onyx",
      response_format: "wav",
    });
    const job = await onlyJob(user);
    // Both tries are waiting on the server now, or the retry is about to: lease only once it has arrived.
    for (let wait = 10; seen.retryCounts.length < 2 && wait < 10_000; wait *= 1.5) {
      await new Promise((r) => setTimeout(r, wait));
    }
    expect(seen.retryCounts).toEqual(["0", "1"]);
    const lease = await worker.leaseJob(job.id);
    await completeWithArtifact(lease, new Uint8Array([7, 7, 7]), "audio/wav");
    const res = await pending;
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([7, 7, 7]));
    expect(await jobsOf(user)).toHaveLength(1);
  });

  // A format that truly cannot be produced here: the worker's ffmpeg lacks the encoder (its failure is marked so,
  // as gpu-worker/backends/espeak.ts marks it), or a worker hands back another format. Never 502, never other bytes.
  it.each(["mp3", "opus", "aac", "flac"] as const)(
    "answers %s that the worker cannot encode with 400 the SDK does not retry, and one job",
    async (format) => {
      const { sdk, user, seen } = await client();
      const pending = sdk.audio.speech.create({ model: "tts-1", input: "x", voice: "alloy", response_format: format });
      const job = await onlyJob(user);
      const lease = await worker.leaseJob(job.id);
      await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
        leaseId: lease.leaseId,
        error: unsupportedFormatError(`this worker cannot encode ${format} audio: its ffmpeg has no such encoder`),
        retryable: false,
      });
      const err = await pending.catch((e) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.error).toMatchObject({ code: "invalid_request" });
      expect(err.message).toContain(`cannot encode ${format}`);
      expect(err.headers.get("x-job-id")).toBe(job.id);
      expect(seen.retryCounts).toEqual(["0"]);
      expect(await jobsOf(user)).toHaveLength(1);
    },
  );

  it.each(["mp3", "opus", "aac", "flac", "wav", "pcm"] as const)(
    "answers 400, never the bytes, when the worker hands back another format than %s",
    async (format) => {
      const { sdk, user } = await client();
      const pending = sdk.audio.speech.create({ model: "tts-1", input: "x", voice: "alloy", response_format: format });
      const lease = await worker.leaseJob((await onlyJob(user)).id);
      const other = format === "wav" ? MEDIA.mp3 : MEDIA.wav;
      await completeWithArtifact(lease, new Uint8Array([1, 2, 3]), other);
      const err = await pending.catch((e) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.message).toContain(`the worker answered ${other}, not ${MEDIA[format]}`);
    },
  );

  it("refuses an unknown voice or format with 400, in the one error shape", async () => {
    const { sdk } = await client();
    for (const body of [
      { model: "tts-1", input: "x", voice: "darth" },
      { model: "tts-1", input: "x", voice: "alloy", response_format: "ogg" },
    ]) {
      const err = await sdk.audio.speech.create(body as OpenAI.Audio.SpeechCreateParams).catch((e) => e);
      expect(err).toBeInstanceOf(APIError);
      expect(err.status).toBe(400);
      expect(err.error).toMatchObject({ code: "invalid_request" });
    }
  });
});

const TRANSCRIPT = {
  text: "Hello there. General Kenobi.",
  language: "en",
  duration: 3.5,
  segments: [
    { start: 0, end: 1.25, text: " Hello there.", compression_ratio: 0.9 },
    { start: 1.25, end: 3.5, text: " General Kenobi." },
  ],
};

const wavFile = () => toFile(new Uint8Array([82, 73, 70, 70, 0, 0, 0, 0, 87, 65, 86, 69]), "hello.wav");

describe("audio.transcriptions.create and audio.translations.create", () => {
  it("answers every response_format of a transcription", async () => {
    const expected: Record<string, (body: unknown) => void> = {
      json: (b) => expect(b).toEqual({ text: TRANSCRIPT.text }),
      text: (b) => expect(b).toBe(TRANSCRIPT.text),
      srt: (b) => expect(b).toContain("00:00:01,250 --> 00:00:03,500\nGeneral Kenobi."),
      vtt: (b) => expect(String(b).startsWith("WEBVTT")).toBe(true),
      verbose_json: (b) => expect(b).toMatchObject({ task: "transcribe", language: "english", duration: 3.5 }),
    };
    for (const format of ["json", "text", "srt", "vtt", "verbose_json"] as const) {
      const { sdk, user } = await client();
      const pending = sdk.audio.transcriptions.create({
        file: await wavFile(),
        model: "whisper-1",
        response_format: format,
      });
      const lease = await worker.leaseJob((await onlyJob(user)).id);
      expect(lease).toMatchObject({ type: "transcribe" });
      await worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/complete`, { leaseId: lease.leaseId, result: TRANSCRIPT });
      expected[format]?.(await pending);
    }
  });

  it("gives verbose_json segments every field OpenAI's have", async () => {
    const { sdk, user } = await client();
    const pending = sdk.audio.transcriptions.create({
      file: await wavFile(),
      model: "whisper-1",
      response_format: "verbose_json",
      temperature: 0.2,
    });
    const lease = await worker.leaseJob((await onlyJob(user)).id);
    await worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/complete`, { leaseId: lease.leaseId, result: TRANSCRIPT });
    const body = await pending;
    expect(body.language).toBe("english");
    expect(body.segments?.[0]).toEqual({
      id: 0,
      seek: 0,
      start: 0,
      end: 1.25,
      text: " Hello there.",
      tokens: [],
      temperature: 0.2,
      avg_logprob: 0,
      compression_ratio: 0.9,
      no_speech_prob: 0,
    });
    expect(Object.keys(body.segments?.[1] ?? {}).sort()).toEqual([
      "avg_logprob",
      "compression_ratio",
      "end",
      "id",
      "no_speech_prob",
      "seek",
      "start",
      "temperature",
      "text",
      "tokens",
    ]);
  });

  it("translates: a transcribe job with task translate, answered in English", async () => {
    const { sdk, user } = await client();
    const pending = sdk.audio.translations.create({
      file: await wavFile(),
      model: "whisper-1",
      response_format: "verbose_json",
    });
    const lease = await worker.leaseJob((await onlyJob(user)).id);
    expect(lease).toMatchObject({ type: "transcribe", options: { task: "translate" } });
    await worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/complete`, {
      leaseId: lease.leaseId,
      result: { ...TRANSCRIPT, language: "de" },
    });
    expect(await pending).toMatchObject({ task: "translate", language: "english", text: TRANSCRIPT.text });
  });

  it("answers a transcription whose model is missing with 502 the SDK does not retry, and one job", async () => {
    const { sdk, user, seen } = await client();
    const pending = sdk.audio.transcriptions.create({ file: await wavFile(), model: "whisper-1" }).catch((e) => e);
    const job = await onlyJob(user);
    const lease = await worker.leaseJob(job.id);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: lease.leaseId,
      error: "transcription needs a whisper.cpp ggml model file (looked for /var/lib/tessera/models/ggml-large-v3.bin)",
      retryable: false,
    });
    const err = await pending;
    expect(err.status).toBe(502);
    expect(err.message).not.toContain("/var/lib");
    expect(seen.retryCounts).toEqual(["0"]);
    expect(await jobsOf(user)).toHaveLength(1);
  });

  it("refuses a translation with a transcription-only model with 400", async () => {
    const { sdk } = await client();
    const err = await sdk.audio.translations
      .create({ file: await wavFile(), model: "gpt-4o-transcribe" })
      .catch((e) => e);
    expect(err.status).toBe(400);
  });
});
