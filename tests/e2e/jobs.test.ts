// GPU jobs over real HTTP against `wrangler dev`, with scripted worker clients: the scheduling scenarios
// (lease expiry, dead letters, cancellation, fairness, VRAM, capabilities) on the real runtime, where alarms and
// long-polls run on the clock. The suite runs with JOBS_LEASE_MS=4000 (tests/e2e/global-setup.ts) so an expiry
// takes seconds, not a minute.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobLease, JobRecord } from "../../src/lib/jobs/protocol";
import { JOB_TYPES, type JobType } from "../../src/lib/jobs/types";
import { call as callAt } from "../support/client";
import { deleteAdmin, signUp, signUpAdmin, type User } from "./users";

const base = inject("workerUrl");
const upstream = inject("upstreamUrl");
type Body = Record<string, unknown>;

const call = (method: string, path: string, token: string | undefined, body?: unknown, headers = {}) =>
  callAt<Body>(base, method, path, { token, body, headers });

let user: User;
let other: User;
let admin: User;

beforeAll(async () => {
  [user, other, admin] = await Promise.all([signUp("jobs"), signUp("jobs2"), signUpAdmin("jobsadmin")]);
});

afterAll(async () => {
  if (admin) await deleteAdmin(admin);
});

/** A scripted GPU worker: an admin-issued credential and the protocol's calls, restricted to some job types. */
async function newWorker(name: string, types: JobType[], freeVramMiB = 80_000) {
  const issued = await call("POST", "/v1/admin/gpu-workers", admin.token, { name });
  expect(issued.status).toBe(201);
  const secret = issued.body.secret as string;
  const id = issued.body.id as string;
  const worker = {
    id,
    secret,
    call: (method: string, path: string, body?: unknown) => call(method, path, secret, body),
    lease: async (opts: { max?: number; waitMs?: number; loadedModels?: string[] } = {}) => {
      const res = await worker.call("POST", "/v1/gpu/lease", {
        freeVramMiB,
        loadedModels: opts.loadedModels ?? [],
        max: opts.max ?? 8,
        types,
        waitMs: opts.waitMs ?? 3000,
      });
      expect(res.status).toBe(200);
      return res.body.jobs as JobLease[];
    },
    /** Leases until `jobId` comes up, failing anything else it is handed (left over by an earlier test). */
    leaseJob: async (jobId: string, waitMs = 3000): Promise<JobLease> => {
      for (let i = 0; i < 10; i++) {
        const jobs = await worker.lease({ waitMs });
        const mine = jobs.find((j) => j.jobId === jobId);
        for (const j of jobs.filter((j) => j !== mine)) await worker.fail(j, "not this test's", false);
        if (mine) return mine;
      }
      throw new Error(`job ${jobId} was never leased`);
    },
    fail: (lease: JobLease, error: string, retryable: boolean) =>
      worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/fail`, { leaseId: lease.leaseId, error, retryable }),
    complete: (lease: JobLease, result: unknown) =>
      worker.call("POST", `/v1/gpu/jobs/${lease.jobId}/complete`, { leaseId: lease.leaseId, result }),
  };
  return worker;
}

const speech = (text = "hello") => ({ type: "speech", input: { text } });
const image = (type: JobType, bytes = [137, 80, 78, 71]) => ({
  type,
  input: { base64: Buffer.from(bytes).toString("base64"), mediaType: "image/png" },
});

async function submit(body: unknown, token = user.token, headers: Record<string, string> = {}) {
  const res = await call("POST", "/v1/jobs", token, body, headers);
  expect(res.status).toBe(202);
  return res.body as unknown as JobRecord;
}

describe("the job path over HTTP", () => {
  it("runs a round trip: the signed input URL downloads without a credential, the owner reads the result", async () => {
    const worker = await newWorker("e2e-ocr", ["vision.ocr"]);
    const job = await submit(image("vision.ocr", [1, 2, 3]));
    const lease = await worker.leaseJob(job.id);
    expect(lease).toMatchObject({ type: "vision.ocr", attempt: 1, model: JOB_TYPES["vision.ocr"].model });
    if (!lease.inputUrl) throw new Error("no inputUrl");
    const input = await fetch(lease.inputUrl);
    expect(input.status).toBe(200);
    expect([...new Uint8Array(await input.arrayBuffer())]).toEqual([1, 2, 3]);

    const beat = await worker.call("POST", `/v1/gpu/jobs/${job.id}/heartbeat`, {
      leaseId: lease.leaseId,
      progress: 0.5,
    });
    expect(beat.body).toMatchObject({ cancel: false });
    expect((await worker.complete(lease, { text: "abc" })).status).toBe(200);
    const read = await call("GET", `/v1/jobs/${job.id}`, user.token);
    expect(read.body).toMatchObject({ status: "completed", result: { text: "abc" }, attempts: 1 });
    expect((await worker.complete(lease, { text: "overwrite" })).status).toBe(409);
    expect((await call("GET", `/v1/jobs/${job.id}`, user.token)).body).toMatchObject({ result: { text: "abc" } });
    expect((await fetch(lease.inputUrl)).status).toBe(409);
  });

  it("downloads {url} input through redirects into the job, and refuses a failing URL with 400", async () => {
    const worker = await newWorker("e2e-url", ["vision.detect"]);
    const target = `${upstream}/redirect?to=${encodeURIComponent("/bytes?size=300&type=image/png")}`;
    const job = await submit({ type: "vision.detect", input: { url: target } });
    const lease = await worker.leaseJob(job.id);
    expect(lease.input).toMatchObject({ mediaType: "image/png", bytes: 300 });
    const input = await fetch(lease.inputUrl ?? "");
    expect((await input.arrayBuffer()).byteLength).toBe(300);
    await worker.complete(lease, { objects: [] });

    const missing = await call("POST", "/v1/jobs", user.token, {
      type: "vision.detect",
      input: { url: `${upstream}/fail500` },
    });
    expect(missing.status).toBe(400);
    const wrongType = await call("POST", "/v1/jobs", user.token, {
      type: "vision.detect",
      input: { url: `${upstream}/bytes?size=10&type=text/html` },
    });
    expect(wrongType.status).toBe(415);
  });

  it("returns the same job for a repeated Idempotency-Key, and 422 when the body differs", async () => {
    const headers = { "Idempotency-Key": `e2e-${Date.now()}` };
    const first = await submit(speech("once"), user.token, headers);
    const again = await submit(speech("once"), user.token, headers);
    expect(again.id).toBe(first.id);
    const other = await call("POST", "/v1/jobs", user.token, speech("twice"), headers);
    expect(other.status).toBe(422);
    expect((await call("DELETE", `/v1/jobs/${first.id}`, user.token)).status).toBe(200);
  });

  it("refuses an unknown type, speech over 4,096 characters and a missing file with 400, an audio type with 415", async () => {
    const bad = [
      { type: "vision.teleport", input: { text: "x" } },
      speech("x".repeat(4097)),
      { type: "transcribe", input: { text: "not audio" } },
    ];
    for (const body of bad) expect((await call("POST", "/v1/jobs", user.token, body)).status).toBe(400);
    const noFile = new FormData();
    noFile.set("type", "transcribe");
    const form = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
      body: noFile,
    });
    expect(form.status).toBe(400);
    const avi = { type: "transcribe", input: { base64: "AAAA", mediaType: "video/x-msvideo" } };
    expect((await call("POST", "/v1/jobs", user.token, avi)).status).toBe(415);
  });

  it("answers 404 to another user reading, cancelling or downloading a job", async () => {
    const job = await submit(speech("private"));
    expect((await call("GET", `/v1/jobs/${job.id}`, other.token)).status).toBe(404);
    expect((await call("DELETE", `/v1/jobs/${job.id}`, other.token)).status).toBe(404);
    expect((await call("GET", `/v1/jobs/${job.id}/result`, other.token)).status).toBe(404);
    expect((await call("DELETE", `/v1/jobs/${job.id}`, user.token)).status).toBe(200);
  });
});

describe("scheduling on the real clock", () => {
  it("puts a job whose lease expires back in the queue for a second worker; the first worker's complete is 409", async () => {
    const first = await newWorker("e2e-silent", ["vision.classify"]);
    const second = await newWorker("e2e-second", ["vision.classify"]);
    const job = await submit(image("vision.classify"));
    const lost = await first.leaseJob(job.id);
    // No heartbeat: the 4 s lease expires by alarm, then a 2 s backoff; the second worker's long-poll waits it out.
    const retaken = await second.leaseJob(job.id, 15_000);
    expect(retaken.attempt).toBe(2);
    expect((await call("GET", `/v1/jobs/${job.id}`, user.token)).body).toMatchObject({ status: "running" });
    expect((await first.complete(lost, { label: "late" })).status).toBe(409);
    expect((await second.complete(retaken, { label: "cat" })).status).toBe(200);
    expect((await call("GET", `/v1/jobs/${job.id}`, user.token)).body).toMatchObject({
      status: "completed",
      result: { label: "cat" },
      attempts: 2,
    });
  });

  it("dead-letters a job after three failed attempts; an admin retry runs it to completion", async () => {
    const worker = await newWorker("e2e-flaky", ["vision.detect"]);
    const job = await submit(image("vision.detect"));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const lease = await worker.leaseJob(job.id, 10_000);
      expect(lease.attempt).toBe(attempt);
      const failed = await worker.fail(lease, `CUDA out of memory (${attempt})`, true);
      expect(failed.body).toMatchObject({ status: attempt < 3 ? "queued" : "dead" });
    }
    const dead = await call("GET", "/v1/admin/jobs?status=dead", admin.token);
    expect((dead.body.jobs as JobRecord[]).map((j) => j.id)).toContain(job.id);
    expect((await call("POST", `/v1/admin/jobs/${job.id}/retry`, user.token)).status).toBe(403);
    const retried = await call("POST", `/v1/admin/jobs/${job.id}/retry`, admin.token);
    expect(retried.body).toMatchObject({ status: "queued", attempts: 0 });
    const lease = await worker.leaseJob(job.id);
    expect((await worker.complete(lease, { objects: [] })).status).toBe(200);
    expect((await call("GET", `/v1/jobs/${job.id}`, user.token)).body).toMatchObject({ status: "completed" });
  });

  it("cancels a queued job at once, and a running one at its worker's next heartbeat", async () => {
    const worker = await newWorker("e2e-cancel", ["speech"]);
    const queued = await submit(speech("never run"));
    expect((await call("DELETE", `/v1/jobs/${queued.id}`, user.token)).body).toMatchObject({ status: "cancelled" });
    const handed = await worker.lease({ waitMs: 0 });
    expect(handed.map((j) => j.jobId)).not.toContain(queued.id);
    for (const j of handed) await worker.fail(j, "not this test's", false);

    const running = await submit(speech("stop me"));
    const lease = await worker.leaseJob(running.id);
    expect((await call("DELETE", `/v1/jobs/${running.id}`, user.token)).body).toMatchObject({ status: "running" });
    const beat = await worker.call("POST", `/v1/gpu/jobs/${running.id}/heartbeat`, { leaseId: lease.leaseId });
    expect(beat.body).toMatchObject({ cancel: true });
    expect((await worker.fail(lease, "cancelled by owner", false)).body).toMatchObject({ status: "cancelled" });
    expect((await call("DELETE", `/v1/jobs/${running.id}`, user.token)).status).toBe(409);
  });

  it("serves a second user's single job before the first user's backlog is done", async () => {
    const worker = await newWorker("e2e-fair", ["vision.detect"]);
    const [heavy, light] = await Promise.all([signUp("heavy"), signUp("light")]);
    const backlog: string[] = [];
    for (let i = 0; i < 6; i++) backlog.push((await submit(image("vision.detect"), heavy.token)).id);
    const single = await submit(image("vision.detect"), light.token);
    const order: string[] = [];
    while (order.length < 7) {
      const [lease] = await worker.lease({ max: 1, waitMs: 1000 });
      if (!lease) break;
      order.push(lease.jobId);
      await worker.complete(lease, { objects: [] });
    }
    expect(order.filter((id) => backlog.includes(id) || id === single.id)).toHaveLength(7);
    // Round-robin between owners: the light user's job is handed out second, not seventh.
    expect(order.indexOf(single.id)).toBeLessThanOrEqual(1);
  });

  it("never hands a worker a job whose model does not fit its free VRAM, unless the model is loaded", async () => {
    const needs = JOB_TYPES.transcribe.vramMiB;
    const small = await newWorker("e2e-small", ["transcribe"], needs - 1);
    const wav = {
      type: "transcribe",
      input: { base64: Buffer.from("RIFF").toString("base64"), mediaType: "audio/wav" },
    };
    const job = await submit(wav);
    expect((await small.lease({ waitMs: 500 })).map((j) => j.jobId)).not.toContain(job.id);
    const loaded = await small.lease({ waitMs: 0, loadedModels: [JOB_TYPES.transcribe.model] });
    expect(loaded.map((j) => j.jobId)).toContain(job.id);
    for (const lease of loaded) await small.complete(lease, { text: "", segments: [] });
  });

  it("refuses a missing, a user's or a revoked worker credential with 401", async () => {
    const state = { freeVramMiB: 1024, waitMs: 0 };
    expect((await call("POST", "/v1/gpu/lease", undefined, state)).status).toBe(401);
    expect((await call("POST", "/v1/gpu/lease", user.token, state)).status).toBe(401);
    const worker = await newWorker("e2e-revoked", ["speech"]);
    expect((await worker.call("POST", "/v1/gpu/lease", { ...state, types: ["speech"], freeVramMiB: 0 })).status).toBe(
      200,
    );
    expect((await call("DELETE", `/v1/admin/gpu-workers/${worker.id}`, admin.token)).status).toBe(204);
    expect((await worker.call("POST", "/v1/gpu/lease", state)).status).toBe(401);
  });
});
