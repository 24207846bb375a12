// /v1/gpu: the GPU worker protocol (docs/jobs.md). Every route but the signed input URL declares the worker's own
// credential (`auth: GPU_WORKER`, never a user's token); the router checks it before it reads the input, so an
// unauthenticated caller learns nothing about the input.
import { z } from "zod";
import {
  inputResponse,
  jobArtifactKey,
  jobBoard,
  publicJob,
  verifyInputUrl,
  withInputUrls,
} from "../src/lib/jobs/board";
import {
  GpuWorkerState,
  JOB_LIMITS,
  JobComplete,
  JobFail,
  JobHeartbeat,
  JobLease,
  JobOutput,
  JobRecord,
  JobRelease,
} from "../src/lib/jobs/protocol";
import { redactPaths } from "../src/lib/jobs/redact";
import { GPU_WORKER, gpuWorker } from "../src/lib/jobs/worker-credential";
import { ApiError } from "../src/lib/platform/errors";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";
import { readBodyBytes } from "../src/lib/platform/validate";

const JobParams = z.object({ id: z.string().min(1).max(128) });
const ArtifactParams = JobParams.extend({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'"),
});
/** `?leaseId=`: the live lease a call acts under. */
const LeaseQuery = z.object({ leaseId: z.string().min(1).max(128) });
const InputUrlQuery = z.object({
  lease: z.string().min(1).max(128),
  expires: z.coerce.number().int().positive(),
  sig: z.string().min(1).max(128),
});
/** Worker bodies are small JSON; a result larger than this belongs in an artifact. */
const WORKER_BODY_LIMIT = JOB_LIMITS.maxResultBytes + 4096;

export const gpuService = new ApiRouter("gpu-workers")
  .route(
    {
      method: "post",
      path: "/lease",
      auth: GPU_WORKER,
      summary: "Take up to `max` jobs that fit this worker, waiting up to `waitMs` for one (long-poll)",
      body: GpuWorkerState,
      bodyLimit: WORKER_BODY_LIMIT,
      // The longest wait plus room to answer: the route's own timeout must never cut a long-poll short.
      timeoutMs: JOB_LIMITS.maxLeaseWaitMs + 5_000,
      responses: { 200: { description: "Leased jobs", schema: z.object({ jobs: z.array(JobLease) }) } },
    },
    async (c, { body: state }) => {
      const worker = gpuWorker(c);
      const board = jobBoard(c.env);
      const hungUp = c.req.raw.signal;
      const leasing = board.lease(worker.id, state);
      // A worker that hangs up during a long-poll (stopped, killed, restarted) must not keep what its abandoned call
      // is handed: that would cost each job an attempt and a lease's wait. waitUntil outlives the cancelled request.
      c.executionCtx.waitUntil(
        leasing.then(
          async (leases) => {
            if (hungUp.aborted && leases.length > 0) await board.giveBack(leases);
          },
          () => undefined,
        ),
      );
      return c.json({ jobs: await withInputUrls(c, await leasing) });
    },
  )
  .route(
    {
      method: "get",
      path: "/inputs/:id",
      // The signature is the credential: a lease's inputUrl works without the worker's secret.
      auth: "public",
      summary: "A job's input bytes through the short-lived signed URL its lease carries (`inputUrl`)",
      params: JobParams,
      query: InputUrlQuery,
      responses: {
        200: { description: "The bytes, with their media type" },
        403: { description: "The signature is wrong or the URL has expired" },
        409: { description: "The lease is no longer current" },
      },
    },
    async (c, { params, query }) => {
      if (!(await verifyInputUrl(c.env, params.id, query))) {
        throw new ApiError("forbidden", "This input URL is invalid or has expired; lease the job again");
      }
      return inputResponse(c.env, unwrap(await jobBoard(c.env).leasedInput(params.id, query.lease)));
    },
  )
  .route(
    {
      method: "get",
      path: "/jobs/:id/input",
      auth: GPU_WORKER,
      summary: "The input bytes of a job under a live lease",
      params: JobParams,
      query: LeaseQuery,
      responses: { 200: { description: "The bytes, with their media type" }, 409: { description: "Stale lease" } },
    },
    async (c, { params, query }) => {
      const worker = gpuWorker(c);
      return inputResponse(c.env, unwrap(await jobBoard(c.env).leasedInput(params.id, query.leaseId, worker.id)));
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/heartbeat",
      auth: GPU_WORKER,
      summary: "Extend the lease and report progress; `cancel: true` means stop and call /fail",
      params: JobParams,
      body: JobHeartbeat,
      bodyLimit: WORKER_BODY_LIMIT,
      responses: {
        200: {
          description: "The new deadline",
          schema: z.object({ leaseDeadline: z.number(), cancel: z.boolean() }),
        },
        409: { description: "The lease is no longer current: stop working on the job" },
      },
    },
    async (c, { params, body }) => {
      const worker = gpuWorker(c);
      return c.json(unwrap(await jobBoard(c.env).heartbeat(params.id, body.leaseId, body.progress, worker.id)));
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/output",
      auth: GPU_WORKER,
      summary: "Stream pieces of a running job's result (llm.chat's tokens) to whoever waits on it",
      description:
        "Pieces in order, each post after the last one's answer; the request waiting on the job relays them at once (docs/llm.md). `cancel: true` means stop, as in a heartbeat's answer.",
      params: JobParams,
      body: JobOutput,
      bodyLimit: WORKER_BODY_LIMIT,
      responses: {
        200: { description: "Taken", schema: z.object({ cancel: z.boolean() }) },
        409: { description: "The lease is no longer current: stop working on the job" },
      },
    },
    async (c, { params, body }) => {
      const worker = gpuWorker(c);
      return c.json(unwrap(await jobBoard(c.env).appendOutput(params.id, body.leaseId, body.pieces, worker.id)));
    },
  )
  .route(
    {
      method: "put",
      path: "/jobs/:id/artifacts/:name",
      auth: GPU_WORKER,
      summary: "Upload an output file (e.g. the WAV) to R2 under the job",
      description: "Raw bytes, with their Content-Type; `?leaseId=` names the live lease.",
      params: ArtifactParams,
      query: LeaseQuery,
      responses: {
        201: { description: "Stored", schema: z.object({ key: z.string(), bytes: z.number() }) },
        409: { description: "Stale lease" },
      },
    },
    async (c, { params, query }) => {
      const worker = gpuWorker(c);
      unwrap(await jobBoard(c.env).leasedInput(params.id, query.leaseId, worker.id));
      const bytes = await readBodyBytes(c, JOB_LIMITS.maxArtifactBytes);
      const key = jobArtifactKey(params.id, params.name);
      const contentType = c.req.header("content-type") ?? "application/octet-stream";
      await c.env.FILES.put(key, bytes, { httpMetadata: { contentType } });
      return c.json({ key, bytes: bytes.byteLength }, 201);
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/complete",
      auth: GPU_WORKER,
      summary: "Finish a job with its result",
      params: JobParams,
      body: JobComplete,
      bodyLimit: WORKER_BODY_LIMIT,
      responses: {
        200: { description: "The completed job", schema: JobRecord },
        409: { description: "Stale lease: the result is not recorded" },
      },
    },
    async (c, { params, body }) => {
      const worker = gpuWorker(c);
      return c.json(publicJob(unwrap(await jobBoard(c.env).complete(params.id, body.leaseId, body.result, worker.id))));
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/fail",
      auth: GPU_WORKER,
      summary: "Report a failed attempt: retried with backoff if `retryable` and attempts remain",
      params: JobParams,
      body: JobFail,
      bodyLimit: WORKER_BODY_LIMIT,
      responses: {
        200: { description: "The job after the failure", schema: JobRecord },
        409: { description: "Stale lease" },
      },
    },
    async (c, { params, body }) => {
      const worker = gpuWorker(c);
      const board = jobBoard(c.env);
      return c.json(
        // Redacted here too, whatever the worker's version: a job's owner never reads a GPU host's disk paths.
        publicJob(
          unwrap(await board.fail(params.id, body.leaseId, redactPaths(body.error), body.retryable, worker.id)),
        ),
      );
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/release",
      auth: GPU_WORKER,
      summary: "Hand a leased job back unfinished (e.g. shutting down): queued again at once, the attempt not counted",
      params: JobParams,
      body: JobRelease,
      bodyLimit: WORKER_BODY_LIMIT,
      responses: {
        200: { description: "The job, queued again", schema: JobRecord },
        409: { description: "Stale lease, or another worker's" },
      },
    },
    async (c, { params, body }) => {
      const worker = gpuWorker(c);
      const board = jobBoard(c.env);
      const released = await board.giveBack([{ jobId: params.id, leaseId: body.leaseId }], worker.id);
      if (released === 0) throw new ApiError("conflict", "This lease is no longer current");
      const job = await board.get(params.id);
      if (!job) throw new ApiError("not_found", "Job not found");
      return c.json(publicJob(job));
    },
  );
