// /v1/gpu: the GPU worker protocol (docs/jobs.md). Every route authenticates the worker's own credential
// (never a user's token) before it reads the body, so an unauthenticated caller learns nothing about the input.
import { z } from "zod";
import {
  authenticateWorker,
  inputResponse,
  jobArtifactKey,
  jobBoard,
  publicJob,
  unwrap,
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
  JobRecord,
  JobRelease,
} from "../src/lib/jobs/protocol";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";
import { parseInput, readBodyBytes, readJsonBody } from "../src/lib/platform/validate";

const JobParams = z.object({ id: z.string().min(1).max(128) });
const ArtifactParams = JobParams.extend({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'"),
});
/** `?leaseId=`, parsed in the handler after the credential check. */
const LeaseQuery = z.object({ leaseId: z.string().min(1).max(128) });
const InputUrlQuery = z.object({
  lease: z.string().min(1).max(128),
  expires: z.coerce.number().int().positive(),
  sig: z.string().min(1).max(128),
});
/** Worker bodies are small JSON; a result larger than this belongs in an artifact. */
const WORKER_BODY_LIMIT = JOB_LIMITS.maxResultBytes + 4096;
const WORKER_AUTH = "public" as const;
const WORKER_NOTE = "Authenticate with `Authorization: Bearer <worker credential>` (POST /v1/admin/gpu-workers).";

export const gpuService = new ApiRouter("gpu-workers")
  .route(
    {
      method: "post",
      path: "/lease",
      // Checked in the handler: a worker credential, not a user's token.
      auth: WORKER_AUTH,
      summary: "Take up to `max` jobs that fit this worker, waiting up to `waitMs` for one (long-poll)",
      description: `Body: \`{freeVramMiB, loadedModels, max, types?, waitMs?}\`. ${WORKER_NOTE}`,
      // The longest wait plus room to answer: the route's own timeout must never cut a long-poll short.
      timeoutMs: JOB_LIMITS.maxLeaseWaitMs + 5_000,
      responses: { 200: { description: "Leased jobs", schema: z.object({ jobs: z.array(JobLease) }) } },
    },
    async (c) => {
      const worker = await authenticateWorker(c);
      const state = await readJsonBody(c, GpuWorkerState, WORKER_BODY_LIMIT);
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
      auth: WORKER_AUTH,
      summary: "The input bytes of a job under a live lease",
      description: WORKER_NOTE,
      params: JobParams,
      responses: { 200: { description: "The bytes, with their media type" }, 409: { description: "Stale lease" } },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const query = parseInput(LeaseQuery, c.req.query(), "query");
      return inputResponse(c.env, unwrap(await jobBoard(c.env).leasedInput(params.id, query.leaseId, worker.id)));
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/heartbeat",
      auth: WORKER_AUTH,
      summary: "Extend the lease and report progress; `cancel: true` means stop and call /fail",
      description: WORKER_NOTE,
      params: JobParams,
      responses: {
        200: {
          description: "The new deadline",
          schema: z.object({ leaseDeadline: z.number(), cancel: z.boolean() }),
        },
        409: { description: "The lease is no longer current: stop working on the job" },
      },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const body = await readJsonBody(c, JobHeartbeat, WORKER_BODY_LIMIT);
      return c.json(unwrap(await jobBoard(c.env).heartbeat(params.id, body.leaseId, body.progress, worker.id)));
    },
  )
  .route(
    {
      method: "put",
      path: "/jobs/:id/artifacts/:name",
      auth: WORKER_AUTH,
      summary: "Upload an output file (e.g. the WAV) to R2 under the job",
      description: `Raw bytes, with their Content-Type; \`?leaseId=\` names the live lease. ${WORKER_NOTE}`,
      params: ArtifactParams,
      responses: {
        201: { description: "Stored", schema: z.object({ key: z.string(), bytes: z.number() }) },
        409: { description: "Stale lease" },
      },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const query = parseInput(LeaseQuery, c.req.query(), "query");
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
      auth: WORKER_AUTH,
      summary: "Finish a job with its result",
      description: WORKER_NOTE,
      params: JobParams,
      responses: {
        200: { description: "The completed job", schema: JobRecord },
        409: { description: "Stale lease: the result is not recorded" },
      },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const body = await readJsonBody(c, JobComplete, WORKER_BODY_LIMIT);
      return c.json(publicJob(unwrap(await jobBoard(c.env).complete(params.id, body.leaseId, body.result, worker.id))));
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/fail",
      auth: WORKER_AUTH,
      summary: "Report a failed attempt: retried with backoff if `retryable` and attempts remain",
      description: WORKER_NOTE,
      params: JobParams,
      responses: {
        200: { description: "The job after the failure", schema: JobRecord },
        409: { description: "Stale lease" },
      },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const body = await readJsonBody(c, JobFail, WORKER_BODY_LIMIT);
      const board = jobBoard(c.env);
      return c.json(
        publicJob(unwrap(await board.fail(params.id, body.leaseId, body.error, body.retryable, worker.id))),
      );
    },
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/release",
      auth: WORKER_AUTH,
      summary: "Hand a leased job back unfinished (e.g. shutting down): queued again at once, the attempt not counted",
      description: WORKER_NOTE,
      params: JobParams,
      responses: {
        200: { description: "The job, queued again", schema: JobRecord },
        409: { description: "Stale lease, or another worker's" },
      },
    },
    async (c, { params }) => {
      const worker = await authenticateWorker(c);
      const body = await readJsonBody(c, JobRelease, WORKER_BODY_LIMIT);
      const board = jobBoard(c.env);
      const released = await board.giveBack([{ jobId: params.id, leaseId: body.leaseId }], worker.id);
      if (released === 0) throw new ApiError("conflict", "This lease is no longer current");
      const job = await board.get(params.id);
      if (!job) throw new ApiError("not_found", "Job not found");
      return c.json(publicJob(job));
    },
  );
