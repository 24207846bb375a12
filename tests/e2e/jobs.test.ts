// GPU jobs over real HTTP against `wrangler dev`: a scripted worker client leases and finishes a user's job. It uses
// vision.classify, the one type the suite's own GPU worker (tests/e2e/global-setup.ts) leaves to other workers.
// (Lease expiry, dead letters and eviction are proved in tests/workers/job-board.test.ts, where time and the
// objects can be controlled.)
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobLease, JobRecord } from "../../src/lib/protocol";
import { deleteAdmin, signUp, signUpAdmin, type User } from "./users";

const base = inject("workerUrl");
/** A 1×1 PNG. */
const PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async function call(method: string, path: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

let user: User;
let admin: User;
let secret: string;

beforeAll(async () => {
  [user, admin] = await Promise.all([signUp("jobs"), signUpAdmin("jobsadmin")]);
  const issued = await call("POST", "/v1/admin/gpu-workers", admin.token, { name: "e2e-gpu" });
  expect(issued.status).toBe(201);
  secret = issued.body.secret as string;
});

afterAll(async () => {
  if (admin) await deleteAdmin(admin);
});

describe("GPU jobs over HTTP", () => {
  it("submits a job, a worker leases, heartbeats and completes it, and the owner reads the result", async () => {
    const submitted = await call("POST", "/v1/jobs", user.token, {
      type: "vision.classify",
      input: { base64: PIXEL_PNG, mediaType: "image/png" },
    });
    expect(submitted.status).toBe(202);
    const job = submitted.body as unknown as JobRecord;

    let lease: JobLease | undefined;
    for (let i = 0; i < 20 && !lease; i++) {
      const res = await call("POST", "/v1/gpu/lease", secret, { freeVramMiB: 24_000, loadedModels: [], max: 8 });
      expect(res.status).toBe(200);
      const jobs = res.body.jobs as JobLease[];
      lease = jobs.find((j) => j.jobId === job.id);
      for (const other of jobs.filter((j) => j !== lease)) {
        await call("POST", `/v1/gpu/jobs/${other.jobId}/fail`, secret, {
          leaseId: other.leaseId,
          error: "not this test's",
          retryable: false,
        });
      }
    }
    if (!lease) throw new Error("the job was never leased");
    expect(lease).toMatchObject({
      type: "vision.classify",
      model: "vit-base-patch16-224",
      input: { mediaType: "image/png", bytes: 70 },
    });

    const beat = await call("POST", `/v1/gpu/jobs/${job.id}/heartbeat`, secret, {
      leaseId: lease.leaseId,
      progress: 0.5,
    });
    expect(beat.body).toMatchObject({ cancel: false });
    const done = await call("POST", `/v1/gpu/jobs/${job.id}/complete`, secret, {
      leaseId: lease.leaseId,
      result: { seconds: 1.5 },
    });
    expect(done.status).toBe(200);
    const read = await call("GET", `/v1/jobs/${job.id}`, user.token);
    expect(read.body).toMatchObject({ status: "completed", result: { seconds: 1.5 }, attempts: 1 });
    const stale = await call("POST", `/v1/gpu/jobs/${job.id}/complete`, secret, { leaseId: lease.leaseId, result: 0 });
    expect(stale.status).toBe(409);
  });

  it("refuses a user's token on the worker protocol with 401", async () => {
    expect((await call("POST", "/v1/gpu/lease", user.token, { freeVramMiB: 1 })).status).toBe(401);
  });
});
