// /v1/jobs, /v1/gpu, /v1/admin job routes and /v1/audio through the Worker's own fetch, with a scripted GPU worker
// client. One file on purpose: they share the one board, and the scripted worker fails jobs that are not its test's,
// so these tests must not run beside each other.
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { formatTranscript, TranscriptResult } from "../../src/lib/audio/transcript-formats";
import { userRoom } from "../../src/lib/hub/rooms";
import { jobBoard } from "../../src/lib/jobs/board";
import type { JobLease, JobRecord } from "../../src/lib/jobs/protocol";
import { isPrivateHost } from "../../src/lib/net/guarded-fetch";
import { toBase64 } from "../../src/lib/platform/base64";
import { signUrl, verifySignedUrl } from "../../src/lib/platform/signed-url";
import { newWorker } from "./gpu-worker";
import { api, createAdmin, type ErrorJson, json, keptFrames, registerUser, send, type Tokens } from "./support";

let alice: Tokens;
let bob: Tokens;
let admin: Tokens;

beforeAll(async () => {
  [alice, bob, admin] = await Promise.all([registerUser(), registerUser(), createAdmin()]);
});

async function submit(body: unknown, token = alice.accessToken, headers: Record<string, string> = {}) {
  return api("POST", "/v1/jobs", { token, body, headers });
}

const speech = (text = "hello there") => ({ type: "speech", input: { text }, options: { voice: "alloy" } });

describe("job submission", () => {
  it("answers 202 with a queued job, readable by its owner and 404 to anyone else", async () => {
    const res = await submit(speech());
    expect(res.status).toBe(202);
    const job = await json<JobRecord>(res);
    expect(job).toMatchObject({ type: "speech", status: "queued", progress: 0, attempts: 0 });
    expect(job).not.toHaveProperty("owner");
    expect((await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken })).status).toBe(200);
    const other = await api("GET", `/v1/jobs/${job.id}`, { token: bob.accessToken });
    expect(other.status).toBe(404);
    expect((await api("DELETE", `/v1/jobs/${job.id}`, { token: bob.accessToken })).status).toBe(404);
  });

  it("returns the same job for a repeated Idempotency-Key, and a new one for another key", async () => {
    const key = `k-${Date.now()}`;
    const first = await json<JobRecord>(await submit(speech(), alice.accessToken, { "Idempotency-Key": key }));
    const again = await json<JobRecord>(await submit(speech(), alice.accessToken, { "Idempotency-Key": key }));
    expect(again.id).toBe(first.id);
    const bobs = await json<JobRecord>(await submit(speech(), bob.accessToken, { "Idempotency-Key": key }));
    expect(bobs.id).not.toBe(first.id);
  });

  it("answers 422 when an Idempotency-Key is reused with a different body, and keeps the first job", async () => {
    const key = `k-diff-${Date.now()}`;
    const first = await json<JobRecord>(await submit(speech(), alice.accessToken, { "Idempotency-Key": key }));
    const reused = await submit(speech("other"), alice.accessToken, { "Idempotency-Key": key });
    expect(reused.status).toBe(422);
    expect(await json(reused)).toMatchObject({
      error: { code: "unprocessable", issues: [{ path: ["header", "idempotency-key"] }] },
    });
    const after = await json<JobRecord>(await submit(speech(), alice.accessToken, { "Idempotency-Key": key }));
    expect(after.id).toBe(first.id);
  });

  it("refuses an unknown type, a missing input, and speech text over 4,096 characters with 400", async () => {
    for (const body of [
      { type: "paint", input: { text: "x" } },
      { type: "speech" },
      { type: "transcribe", input: { text: "not audio" } },
      speech("x".repeat(4097)),
    ]) {
      const res = await submit(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((await json<ErrorJson>(res)).error.code).toBe("invalid_request");
    }
    expect((await submit(speech("x".repeat(4096)))).status).toBe(202);
  });

  it("refuses an unsupported media type with 415", async () => {
    const res = await submit({ type: "transcribe", input: { base64: "AAAA", mediaType: "video/avi" } });
    expect(res.status).toBe(415);
  });

  it("stores byte input in R2 under jobs/", async () => {
    const bytes = new Uint8Array([82, 73, 70, 70, 1, 2, 3]);
    const res = await submit({ type: "transcribe", input: { base64: toBase64(bytes), mediaType: "audio/wav" } });
    expect(res.status).toBe(202);
    const job = await json<JobRecord>(res);
    const stored = await env.FILES.get(`jobs/${job.id}/input`);
    expect(new Uint8Array((await stored?.arrayBuffer()) ?? new ArrayBuffer(0))).toEqual(bytes);
  });

  it("accepts multipart (type, file, options) into the same job shape, and refuses a form without a file", async () => {
    const form = new FormData();
    form.set("type", "transcribe");
    form.set("file", new File([new Uint8Array([9, 8, 7])], "a.wav", { type: "audio/wav" }));
    form.set("options", JSON.stringify({ language: "en" }));
    const res = await send("POST", "/v1/jobs", { token: alice.accessToken, body: form });
    expect(res.status).toBe(202);
    const job = await json<JobRecord>(res);
    expect(job).toMatchObject({ type: "transcribe", status: "queued" });
    const stored = await env.FILES.get(`jobs/${job.id}/input`);
    expect(new Uint8Array((await stored?.arrayBuffer()) ?? new ArrayBuffer(0))).toEqual(new Uint8Array([9, 8, 7]));

    const missing = new FormData();
    missing.set("type", "transcribe");
    expect((await send("POST", "/v1/jobs", { token: alice.accessToken, body: missing })).status).toBe(400);
  });

  it("needs a signed-in user", async () => {
    expect((await api("POST", "/v1/jobs", { body: speech() })).status).toBe(401);
  });
});

describe("the GPU worker protocol", () => {
  it("runs a job round trip: lease, input, heartbeat, artifact, complete, result download; a stale complete is 409", async () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const job = await json<JobRecord>(
      await submit({ type: "vision.ocr", input: { base64: toBase64(bytes), mediaType: "image/png" } }),
    );
    const worker = await newWorker(admin.accessToken);
    const lease = await worker.leaseJob(job.id);
    expect(lease).toMatchObject({ type: "vision.ocr", attempt: 1, model: "paddleocr-v4" });
    const listed = await json<{ workers: { id: string; jobsInHand: number; freeVramMiB: number }[] }>(
      await api("GET", "/v1/admin/gpu-workers", { token: admin.accessToken }),
    );
    expect(listed.workers.find((w) => w.id === worker.id)).toMatchObject({ jobsInHand: 1, freeVramMiB: 80_000 });
    expect((await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }).then(json<JobRecord>)).status).toBe(
      "running",
    );

    const input = await send("GET", `/v1/gpu/jobs/${job.id}/input?leaseId=${lease.leaseId}`, { token: worker.secret });
    expect(input.status).toBe(200);
    expect(new Uint8Array(await input.arrayBuffer())).toEqual(bytes);

    const beat = await worker.call("POST", `/v1/gpu/jobs/${job.id}/heartbeat`, {
      leaseId: lease.leaseId,
      progress: 0.5,
    });
    expect(await json(beat)).toMatchObject({ cancel: false });

    const put = await send("PUT", `/v1/gpu/jobs/${job.id}/artifacts/out.txt?leaseId=${lease.leaseId}`, {
      token: worker.secret,
      body: "recognised text",
      headers: { "Content-Type": "text/plain" },
    });
    expect(put.status).toBe(201);
    expect(await (await env.FILES.get(`jobs/${job.id}/artifacts/out.txt`))?.text()).toBe("recognised text");

    const early = await api("GET", `/v1/jobs/${job.id}/result`, { token: alice.accessToken });
    expect(early.status).toBe(409);

    const done = await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, {
      leaseId: lease.leaseId,
      result: { text: "recognised text", artifact: "out.txt" },
    });
    expect(done.status).toBe(200);
    const final = await json<JobRecord>(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }));
    expect(final).toMatchObject({ status: "completed", progress: 1, result: { text: "recognised text" } });
    const artifact = await api("GET", `/v1/jobs/${job.id}/result`, { token: alice.accessToken });
    expect(artifact.status).toBe(200);
    expect(artifact.headers.get("content-type")).toBe("text/plain");
    // Whatever type the worker claimed, the artifact is a download that cannot run as a page of this origin.
    expect(artifact.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''out.txt");
    expect(artifact.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
    expect(artifact.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await artifact.text()).toBe("recognised text");
    expect((await api("GET", `/v1/jobs/${job.id}/result`, { token: bob.accessToken })).status).toBe(404);

    const stale = await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, { leaseId: lease.leaseId, result: 2 });
    expect(stale.status).toBe(409);
  });

  it("tells a running job's worker of its cancellation at the next heartbeat", async () => {
    const job = await json<JobRecord>(await submit(speech()));
    const worker = await newWorker(admin.accessToken);
    const lease = await worker.leaseJob(job.id);
    expect((await api("DELETE", `/v1/jobs/${job.id}`, { token: alice.accessToken })).status).toBe(200);
    const beat = await worker.call("POST", `/v1/gpu/jobs/${job.id}/heartbeat`, { leaseId: lease.leaseId });
    expect(await json(beat)).toMatchObject({ cancel: true });
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: lease.leaseId,
      error: "cancelled",
      retryable: true,
    });
    expect((await json<JobRecord>(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }))).status).toBe(
      "cancelled",
    );
  });

  it("never shows a job's owner the GPU host's disk paths in a failure, whatever the worker sent", async () => {
    const job = await json<JobRecord>(await submit(speech()));
    const worker = await newWorker(admin.accessToken, "paths");
    const lease = await worker.leaseJob(job.id);
    const failed = await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: lease.leaseId,
      error: "ENOENT: no such file or directory, open '/opt/tessera/models/piper/en_US.onnx' (C:\\models\\x.bin)",
      retryable: false,
    });
    expect(failed.status).toBe(200);
    const seen = await json<JobRecord>(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }));
    expect(seen.error).toContain("<path>");
    expect(seen.error).not.toMatch(/\/opt\/tessera|models[\\/]/);
  });

  it("lets an admin find a failed job in the admin list and retry it; a non-admin gets 403", async () => {
    const job = await json<JobRecord>(await submit(speech()));
    const worker = await newWorker(admin.accessToken);
    const lease = await worker.leaseJob(job.id);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: lease.leaseId,
      error: "bad",
      retryable: false,
    });
    const listed: string[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const res = await api("GET", `/v1/admin/jobs?status=failed&after=${after}`, { token: admin.accessToken });
      expect(res.status).toBe(200);
      const page = await json<{ jobs: (JobRecord & { owner: string })[]; next: number | null }>(res);
      listed.push(...page.jobs.map((j) => j.id));
      after = page.next;
    }
    expect(listed).toContain(job.id);
    expect((await api("GET", "/v1/admin/jobs", { token: alice.accessToken })).status).toBe(403);
    const retried = await api("POST", `/v1/admin/jobs/${job.id}/retry`, { token: admin.accessToken });
    expect(await json(retried)).toMatchObject({ status: "queued", attempts: 0 });
  });

  it("refuses a missing credential, a user's token and a revoked credential with 401", async () => {
    const lease = { freeVramMiB: 1024, loadedModels: [] };
    expect((await api("POST", "/v1/gpu/lease", { body: lease })).status).toBe(401);
    expect((await api("POST", "/v1/gpu/lease", { token: alice.accessToken, body: lease })).status).toBe(401);
    // The credential is checked before the input: a stranger's malformed body learns nothing.
    expect((await api("POST", "/v1/gpu/jobs/nope/complete", { body: { wrong: 1 } })).status).toBe(401);
    const worker = await newWorker(admin.accessToken, "revoked");
    expect((await worker.call("POST", "/v1/gpu/lease", { ...lease, max: 1 })).status).toBe(200);
    const revoke = await api("DELETE", `/v1/admin/gpu-workers/${worker.id}`, { token: admin.accessToken });
    expect(revoke.status).toBe(204);
    expect((await worker.call("POST", "/v1/gpu/lease", lease)).status).toBe(401);
  });

  it("accepts the configured bootstrap credential as a listed worker until an admin revokes it", async () => {
    const secret = env.GPU_WORKER_BOOTSTRAP_SECRET as string;
    const lease = (token: string) =>
      api("POST", "/v1/gpu/lease", { token, body: { freeVramMiB: 0, loadedModels: [], max: 1 } });
    expect((await lease(`${secret.slice(0, -1)}x`)).status).toBe(401);
    expect((await lease(secret)).status).toBe(200);
    const listed = await json<{ workers: { id: string; name: string; revokedAt: string | null }[] }>(
      await api("GET", "/v1/admin/gpu-workers", { token: admin.accessToken }),
    );
    const bootstrap = listed.workers.find((w) => w.name === "bootstrap (configured)");
    expect(bootstrap).toMatchObject({ revokedAt: null });
    const revoke = await api("DELETE", `/v1/admin/gpu-workers/${bootstrap?.id}`, { token: admin.accessToken });
    expect(revoke.status).toBe(204);
    expect((await lease(secret)).status).toBe(401);
  });

  it("lists the caller's jobs by status with a cursor", async () => {
    const user = await registerUser();
    for (let i = 0; i < 3; i++) await submit(speech(), user.accessToken);
    const page = await json<{ jobs: JobRecord[]; nextCursor: string | null }>(
      await api("GET", "/v1/jobs?status=queued", { token: user.accessToken }),
    );
    expect(page.jobs).toHaveLength(3);
    expect(page.nextCursor).toBeNull();
    const bad = await api("GET", "/v1/jobs?cursor=nonsense", { token: user.accessToken });
    expect(bad.status).toBe(400);
  });
});

describe("long-poll, worker capabilities and signed input URLs", () => {
  const png = (bytes: Uint8Array) => ({
    type: "vision.classify",
    input: { base64: toBase64(bytes), mediaType: "image/png" },
  });

  it("holds an empty lease call until a job arrives, and answers an empty list when waitMs passes", async () => {
    const worker = await newWorker(admin.accessToken, "long-poll");
    const state = { freeVramMiB: 80_000, loadedModels: [], max: 1, types: ["vision.classify"] };
    const empty = await worker.call("POST", "/v1/gpu/lease", { ...state, waitMs: 200 });
    expect(await json(empty)).toEqual({ jobs: [] });

    // Asked before the job exists: only a call that waits can answer with it.
    const waiting = worker.call("POST", "/v1/gpu/lease", { ...state, waitMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const job = await json<JobRecord>(await submit(png(new Uint8Array([9]))));
    const { jobs } = await json<{ jobs: JobLease[] }>(await waiting);
    expect(jobs.map((j) => j.jobId)).toEqual([job.id]);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: jobs[0]?.leaseId,
      error: "x",
      retryable: false,
    });
  });

  it("wakes a waiting lease call when a retried job's backoff ends", async () => {
    const job = await json<JobRecord>(await submit(png(new Uint8Array([3]))));
    const worker = await newWorker(admin.accessToken, "backoff");
    const first = await worker.leaseJob(job.id);
    const failed = await worker.call("POST", `/v1/gpu/jobs/${job.id}/fail`, {
      leaseId: first.leaseId,
      error: "transient",
      retryable: true,
    });
    expect(await json(failed)).toMatchObject({ status: "queued", attempts: 1 });
    // The job is in its 2 s backoff: nothing is leasable now, so only a call that sleeps until then gets it.
    const res = await worker.call("POST", "/v1/gpu/lease", {
      freeVramMiB: 80_000,
      types: ["vision.classify"],
      waitMs: 15_000,
    });
    const { jobs } = await json<{ jobs: JobLease[] }>(res);
    expect(jobs).toMatchObject([{ jobId: job.id, attempt: 2 }]);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, { leaseId: jobs[0]?.leaseId, result: null });
  });

  it("gives a job handed to a long-poll whose worker hung up straight back, without counting an attempt", async () => {
    const gone = await newWorker(admin.accessToken, "hung-up");
    const hangUp = new AbortController();
    // Called directly with a signal the test controls: the local runtimes' proxies do not pass a client's hang-up
    // on to request.signal, the production runtime does (enable_request_signal).
    const request = new Request("http://tessera.test/v1/gpu/lease", {
      method: "POST",
      headers: { authorization: `Bearer ${gone.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ freeVramMiB: 80_000, types: ["vision.classify"], waitMs: 10_000 }),
      signal: hangUp.signal,
    });
    const ctx = createExecutionContext();
    const abandoned = worker.fetch(request, env, ctx);
    await new Promise((r) => setTimeout(r, 300));
    hangUp.abort();
    const job = await json<JobRecord>(await submit(png(new Uint8Array([5]))));
    await abandoned;
    await waitOnExecutionContext(ctx);
    expect(await json(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }))).toMatchObject({
      status: "queued",
      attempts: 0,
    });
    const live = await newWorker(admin.accessToken, "live");
    const lease = await live.leaseJob(job.id);
    expect(lease.attempt).toBe(1);
    await live.call("POST", `/v1/gpu/jobs/${job.id}/complete`, { leaseId: lease.leaseId, result: null });
  });

  it("ties a lease to its worker: another worker holding the lease id gets 409 on every call", async () => {
    const job = await json<JobRecord>(await submit(png(new Uint8Array([6]))));
    const holder = await newWorker(admin.accessToken, "holder");
    const thief = await newWorker(admin.accessToken, "thief");
    const lease = await holder.leaseJob(job.id);
    const leaseId = lease.leaseId;
    const path = `/v1/gpu/jobs/${job.id}`;
    expect((await thief.call("POST", `${path}/heartbeat`, { leaseId })).status).toBe(409);
    expect((await thief.call("POST", `${path}/complete`, { leaseId, result: "forged" })).status).toBe(409);
    expect((await thief.call("POST", `${path}/fail`, { leaseId, error: "x", retryable: false })).status).toBe(409);
    expect((await thief.call("POST", `${path}/release`, { leaseId })).status).toBe(409);
    expect((await send("GET", `${path}/input?leaseId=${leaseId}`, { token: thief.secret })).status).toBe(409);
    expect((await holder.call("POST", `${path}/complete`, { leaseId, result: "real" })).status).toBe(200);
    expect(await json(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }))).toMatchObject({
      result: "real",
    });
  });

  it("takes a released job back at once without counting the attempt", async () => {
    const job = await json<JobRecord>(await submit(png(new Uint8Array([8]))));
    const worker = await newWorker(admin.accessToken, "releasing");
    const first = await worker.leaseJob(job.id);
    const released = await worker.call("POST", `/v1/gpu/jobs/${job.id}/release`, { leaseId: first.leaseId });
    expect(await json(released)).toMatchObject({ status: "queued", attempts: 0 });
    expect((await worker.call("POST", `/v1/gpu/jobs/${job.id}/release`, { leaseId: first.leaseId })).status).toBe(409);
    const again = await worker.leaseJob(job.id);
    expect(again.attempt).toBe(1);
    await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, { leaseId: again.leaseId, result: null });
  });

  it("refuses a wait over 25 s and an unknown job type in `types` with 400", async () => {
    const worker = await newWorker(admin.accessToken, "bad-lease");
    for (const body of [
      { freeVramMiB: 1, waitMs: 25_001 },
      { freeVramMiB: 1, types: ["vision.teleport"] },
      { freeVramMiB: 1, types: [] },
    ]) {
      expect((await worker.call("POST", "/v1/gpu/lease", body)).status).toBe(400);
    }
  });

  it("never hands a worker a job of a type it does not run", async () => {
    const job = await json<JobRecord>(await submit(png(new Uint8Array([1]))));
    const speechOnly = await newWorker(admin.accessToken, "speech-only");
    const offered = await json<{ jobs: JobLease[] }>(
      await speechOnly.call("POST", "/v1/gpu/lease", { freeVramMiB: 80_000, max: 8, types: ["speech"] }),
    );
    expect(offered.jobs.every((j) => j.type === "speech")).toBe(true);
    for (const j of offered.jobs) {
      await speechOnly.call("POST", `/v1/gpu/jobs/${j.jobId}/fail`, {
        leaseId: j.leaseId,
        error: "x",
        retryable: false,
      });
    }
    expect((await json<JobRecord>(await api("GET", `/v1/jobs/${job.id}`, { token: alice.accessToken }))).status).toBe(
      "queued",
    );
    const classifier = await newWorker(admin.accessToken, "classifier");
    await classifier.leaseJob(job.id);
  });

  it("gives byte input a signed URL that works without the credential, only while the lease is live", async () => {
    const bytes = new Uint8Array([7, 7, 7]);
    const job = await json<JobRecord>(await submit(png(bytes)));
    const worker = await newWorker(admin.accessToken, "signed-url");
    const lease = await worker.leaseJob(job.id);
    if (!lease.inputUrl) throw new Error("the lease carries no inputUrl");
    const url = new URL(lease.inputUrl);
    expect(url.pathname).toBe(`/v1/gpu/inputs/${job.id}`);
    const path = `${url.pathname}${url.search}`;
    const download = await send("GET", path);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    const tampered = new URL(url);
    tampered.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 1000));
    expect((await send("GET", `${tampered.pathname}${tampered.search}`)).status).toBe(403);
    const otherJob = `/v1/gpu/inputs/job_other${url.search}`;
    expect((await send("GET", otherJob)).status).toBe(403);
    // The same signature re-spelled: padded with `=`, or in the standard alphabet, is refused.
    const sig = url.searchParams.get("sig") ?? "";
    for (const spelling of [`${sig}=`, `${sig}==`, sig.replace(/-/g, "+").replace(/_/g, "/")]) {
      if (spelling === sig) continue;
      const respelled = new URL(url);
      respelled.searchParams.set("sig", spelling);
      expect((await send("GET", `${respelled.pathname}${respelled.search}`)).status).toBe(403);
    }

    await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, { leaseId: lease.leaseId, result: { label: "x" } });
    expect((await send("GET", path)).status).toBe(409);
  });

  it("signs a URL until its expiry and not a moment after", async () => {
    const secret = "a signing secret";
    const url = new URL(await signUrl(secret, "test", "https://edge", "/p", { lease: "l1" }, 10_000));
    const check = (now: number, params = { lease: "l1" }) =>
      verifySignedUrl(secret, "test", "/p", params, 10_000, url.searchParams.get("sig") ?? "", now);
    expect(await check(9_999)).toBe(true);
    expect(await check(10_000)).toBe(false);
    expect(await check(1, { lease: "l2" })).toBe(false);
    expect(
      await verifySignedUrl(secret, "other use", "/p", { lease: "l1" }, 10_000, url.searchParams.get("sig") ?? "", 1),
    ).toBe(false);
  });
});

describe("{url} input", () => {
  it("refuses loopback, private and link-local addresses, other schemes and embedded credentials with 400", async () => {
    for (const url of [
      "http://127.0.0.1:8080/a.png",
      "http://localhost/a.png",
      "http://10.1.2.3/a.png",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/a.png",
      "http://[fd00::1]/a.png",
      "http://[::ffff:127.0.0.1]/a.png",
      "file:///etc/passwd",
      "https://user:pw@example.com/a.png",
      "not a url",
    ]) {
      const res = await submit({ type: "vision.ocr", input: { url } });
      expect(res.status, url).toBe(400);
      expect((await json<ErrorJson>(res)).error.code).toBe("invalid_request");
    }
  });

  it("refuses names that are loopback with a trailing dot, single labels, and names that resolve to private addresses, with one message", async () => {
    const messages = new Set<string>();
    for (const url of [
      "http://localhost./a.png",
      "http://LOCALHOST../a.png",
      "http://vm/a.png",
      "http://rebind.example/a.png",
      "http://rebind.example./a.png",
      "http://nowhere.example/a.png",
      // Resolves to a public address but cannot be reached from here: the same answer as a refusal, so the
      // message never tells a closed port or an internal host from a refused one.
      "http://public.example:8081/a.png",
      "http://127.0.0.1:8080/a.png",
    ]) {
      const res = await submit({ type: "vision.ocr", input: { url } });
      expect(res.status, url).toBe(400);
      messages.add((await json<{ error: { message: string } }>(res)).error.message);
    }
    expect([...messages]).toEqual(["input.url could not be fetched"]);
  });

  it("classifies public and private hosts", () => {
    expect(isPrivateHost("localhost.")).toBe(true);
    expect(isPrivateHost("intranet")).toBe(true);
    expect(isPrivateHost("example.com")).toBe(false);
    expect(isPrivateHost("8.8.8.8")).toBe(false);
    expect(isPrivateHost("172.32.0.1")).toBe(false);
    expect(isPrivateHost("172.16.0.1")).toBe(true);
    expect(isPrivateHost("100.64.0.1")).toBe(true);
    expect(isPrivateHost("db.internal")).toBe(true);
    expect(isPrivateHost("[2606:4700::1111]")).toBe(false);
  });
});

describe("the GPU_JOBS consumer and job events", () => {
  it("hands a gpu.job message to the board, once however often it is delivered", async () => {
    const id = `queued-${Date.now()}`;
    const body = { kind: "gpu.job", job: { id, owner: "queue-owner", type: "speech", input: { text: "hi" } } };
    const batch = createMessageBatch("tessera-gpu-jobs", [
      { id: "m1", timestamp: new Date(), attempts: 1, body },
      { id: "m2", timestamp: new Date(), attempts: 1, body },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(await jobBoard(env).get(id, "queue-owner")).toMatchObject({ id, status: "queued", attempts: 0 });
    const mine = await jobBoard(env).list({ owner: "queue-owner" });
    expect(mine.jobs.filter((j) => j.id === id)).toHaveLength(1);
  });

  it("publishes job.queued and job.cancelled to the owner's user room", async () => {
    const user = await registerUser();
    const job = await json<JobRecord>(await submit(speech(), user.accessToken));
    await api("DELETE", `/v1/jobs/${job.id}`, { token: user.accessToken });
    const room = userRoom(user.user.id);
    let events: string[] = [];
    // Publishing is best effort and asynchronous (the board's waitUntil): wait for both to land.
    for (let i = 0; i < 50 && events.length < 2; i++) {
      const frames = (await keptFrames(room)).map((t) => JSON.parse(t) as { data: { event: string } });
      events = frames.map((f) => f.data.event);
      if (events.length < 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(events).toEqual(["job.queued", "job.cancelled"]);
  });
});

const openAiSpeech = { model: "tts-1", input: "Hello from Tessera", voice: "alloy", response_format: "wav" };

describe("POST /v1/audio/speech", () => {
  it("answers with the audio a worker produced, after mapping OpenAI's voice to the model's", async () => {
    const worker = await newWorker(admin.accessToken, "audio-gpu");
    // A user of its own, so the job it waits on is the only one in their list.
    const speaker = await registerUser();
    const pending = api("POST", "/v1/audio/speech", { token: speaker.accessToken, body: openAiSpeech });
    // The request is waiting on its job; find it among the user's jobs and finish it as a worker would.
    let jobId: string | undefined;
    for (let i = 0; i < 50 && !jobId; i++) {
      const page = await json<{ jobs: JobRecord[] }>(await api("GET", "/v1/jobs", { token: speaker.accessToken }));
      jobId = page.jobs[0]?.id;
      if (!jobId) await new Promise((r) => setTimeout(r, 20));
    }
    if (!jobId) throw new Error("the speech job never appeared");
    const lease = await worker.leaseJob(jobId);
    expect(lease.options).toEqual({ voice: "af_alloy", format: "wav", speed: 1 });
    const put = await send("PUT", `/v1/gpu/jobs/${jobId}/artifacts/speech.wav?leaseId=${lease.leaseId}`, {
      token: worker.secret,
      body: new Uint8Array([82, 73, 70, 70]),
      headers: { "Content-Type": "audio/wav" },
    });
    expect(put.status).toBe(201);
    await worker.call("POST", `/v1/gpu/jobs/${jobId}/complete`, {
      leaseId: lease.leaseId,
      result: { artifact: "speech.wav" },
    });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([82, 73, 70, 70]));
  });

  it("answers 504 with the job's id and link, not a 2xx, when no worker finishes within the wait", async () => {
    const other = await registerUser();
    const res = await api("POST", "/v1/audio/speech", { token: other.accessToken, body: openAiSpeech });
    expect(res.status).toBe(504);
    const { error } = await json<ErrorJson>(res);
    expect(error.code).toBe("timeout");
    const jobId = res.headers.get("x-job-id");
    expect(res.headers.get("location")).toBe(`/v1/jobs/${jobId}`);
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect((await json<JobRecord>(await api("GET", `/v1/jobs/${jobId}`, { token: other.accessToken }))).status).toBe(
      "queued",
    );
    await api("DELETE", `/v1/jobs/${jobId}`, { token: other.accessToken });
  }, 60_000);

  it("refuses an unknown model or voice, and input over 4,096 characters, with 400", async () => {
    for (const body of [
      { ...openAiSpeech, model: "tts-9" },
      { ...openAiSpeech, voice: "darth" },
      { ...openAiSpeech, input: "x".repeat(4097) },
    ]) {
      expect((await api("POST", "/v1/audio/speech", { token: alice.accessToken, body })).status).toBe(400);
    }
  });
});

describe("POST /v1/audio/transcriptions", () => {
  const transcript = {
    text: "Hello there. General Kenobi.",
    language: "en",
    duration: 3.5,
    segments: [
      { start: 0, end: 1.25, text: " Hello there." },
      { start: 1.25, end: 3.5, text: " General Kenobi." },
    ],
  };

  /** The id of the user's first job, once the waiting request has made it. */
  async function firstJobOf(token: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const page = await json<{ jobs: JobRecord[] }>(await api("GET", "/v1/jobs", { token }));
      const id = page.jobs[0]?.id;
      if (id) return id;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("the transcription job never appeared");
  }

  function form(format: string, type = "audio/wav"): FormData {
    const f = new FormData();
    f.set("file", new File([new Uint8Array([82, 73, 70, 70])], "a.wav", { type }));
    f.set("model", "whisper-1");
    f.set("language", "en");
    f.set("response_format", format);
    return f;
  }

  it("answers OpenAI's multipart request with the transcript as SRT once a worker completes the job", async () => {
    const worker = await newWorker(admin.accessToken, "whisper-gpu");
    const listener = await registerUser();
    const pending = send("POST", "/v1/audio/transcriptions", { token: listener.accessToken, body: form("srt") });
    const jobId = await firstJobOf(listener.accessToken);
    const lease = await worker.leaseJob(jobId);
    expect(lease).toMatchObject({ type: "transcribe", options: { language: "en" } });
    await worker.call("POST", `/v1/gpu/jobs/${jobId}/complete`, { leaseId: lease.leaseId, result: transcript });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-subrip");
    expect(await res.text()).toBe(
      "1\n00:00:00,000 --> 00:00:01,250\nHello there.\n\n2\n00:00:01,250 --> 00:00:03,500\nGeneral Kenobi.\n",
    );
  });

  it("passes prompt, temperature and timestamp granularities to the worker, and word timings to verbose_json", async () => {
    const worker = await newWorker(admin.accessToken, "whisper-words");
    const listener = await registerUser();
    const f = form("verbose_json");
    f.set("prompt", "Names: Kenobi.");
    f.set("temperature", "0.2");
    f.append("timestamp_granularities[]", "word");
    f.append("timestamp_granularities[]", "segment");
    const pending = send("POST", "/v1/audio/transcriptions", { token: listener.accessToken, body: f });
    const jobId = await firstJobOf(listener.accessToken);
    const lease = await worker.leaseJob(jobId);
    expect(lease.options).toEqual({
      language: "en",
      prompt: "Names: Kenobi.",
      temperature: 0.2,
      timestampGranularities: ["word", "segment"],
    });
    const words = [
      { word: "Hello", start: 0, end: 0.5 },
      { word: "there.", start: 0.5, end: 1.25 },
    ];
    await worker.call("POST", `/v1/gpu/jobs/${jobId}/complete`, {
      leaseId: lease.leaseId,
      result: { ...transcript, words },
    });
    const body = await json<{ words: unknown; segments: unknown[] }>(await pending);
    expect(body.words).toEqual(words);
    expect(body.segments).toHaveLength(2);
  });

  it("refuses a temperature outside 0-1 and an unknown timestamp granularity with 400", async () => {
    for (const [name, value] of [
      ["temperature", "1.5"],
      ["timestamp_granularities[]", "syllable"],
    ] as const) {
      const f = form("json");
      f.append(name, value);
      expect((await send("POST", "/v1/audio/transcriptions", { token: alice.accessToken, body: f })).status).toBe(400);
    }
  });

  it("takes what clients call the accepted formats: aliases, and the magic bytes behind octet-stream", async () => {
    const wav = new Uint8Array([...new TextEncoder().encode("RIFF"), 0, 0, 0, 0, ...new TextEncoder().encode("WAVE")]);
    const webm = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0]);
    for (const [bytes, declared, stored] of [
      [webm, "video/webm", "audio/webm"],
      [new Uint8Array([0, 0, 0, 0]), "audio/x-m4a", "audio/mp4"],
      [wav, "application/octet-stream", "audio/wav"],
    ] as const) {
      const res = await submit({ type: "transcribe", input: { base64: toBase64(bytes), mediaType: declared } });
      expect(res.status, declared).toBe(202);
      const job = await json<JobRecord>(res);
      expect((await env.FILES.get(`jobs/${job.id}/input`))?.httpMetadata?.contentType, declared).toBe(stored);
      await api("DELETE", `/v1/jobs/${job.id}`, { token: alice.accessToken });
    }
    const unknown = await submit({
      type: "transcribe",
      input: { base64: toBase64(new Uint8Array([1, 2, 3])), mediaType: "application/octet-stream" },
    });
    expect(unknown.status).toBe(415);
  });

  it("refuses an unsupported audio format with 415 and an unknown model with 400", async () => {
    const wrongType = await send("POST", "/v1/audio/transcriptions", {
      token: alice.accessToken,
      body: form("json", "video/avi"),
    });
    expect(wrongType.status).toBe(415);
    const f = form("json");
    f.set("model", "whisper-9");
    expect((await send("POST", "/v1/audio/transcriptions", { token: alice.accessToken, body: f })).status).toBe(400);
  });

  it("formats the same transcript as json, text, vtt and verbose_json", () => {
    const t = TranscriptResult.parse(transcript);
    expect(JSON.parse(formatTranscript(t, "json").body)).toEqual({ text: transcript.text });
    expect(formatTranscript(t, "text")).toEqual({ body: transcript.text, contentType: "text/plain; charset=utf-8" });
    expect(formatTranscript(t, "vtt").body).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nHello there.\n\n00:00:01.250 --> 00:00:03.500\nGeneral Kenobi.\n",
    );
    expect(JSON.parse(formatTranscript(t, "verbose_json").body)).toMatchObject({
      task: "transcribe",
      language: "english",
      duration: 3.5,
      segments: [
        { id: 0, start: 0 },
        { id: 1, end: 3.5 },
      ],
    });
  });
});
