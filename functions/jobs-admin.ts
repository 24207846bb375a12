// /v1/admin: GPU worker credentials and the job board seen whole (role admin, checked against the live session).
import { z } from "zod";
import { serviceCredentials } from "../src/lib/identity/service-credentials";
import { randomToken, sha256Hex } from "../src/lib/identity/tokens";
import { jobBoard } from "../src/lib/jobs/board";
import { JobRecord, JobStatus, WORKER_SECRET_PREFIX } from "../src/lib/jobs/protocol";
import { GpuWorkerCredential, GpuWorkerSeen } from "../src/lib/jobs/worker-credential";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

const ADMIN = { role: "admin" } as const;
const IdParams = z.object({ id: z.string().min(1).max(128) });
const AdminJob = JobRecord.extend({ owner: z.string() });
const GpuWorker = GpuWorkerCredential.extend(GpuWorkerSeen.shape);
const NEVER_SEEN: GpuWorkerSeen = { lastSeenAt: null, freeVramMiB: null, loadedModels: [], jobsInHand: 0 };

export const jobsAdminService = new ApiRouter("admin-jobs")
  .route(
    {
      method: "post",
      path: "/gpu-workers",
      auth: ADMIN,
      summary: "Issue a GPU worker credential (the secret is shown once; only its hash is kept)",
      body: z.object({ name: z.string().trim().min(1).max(64) }).strict(),
      responses: {
        201: { description: "The worker and its secret", schema: GpuWorker.extend({ secret: z.string() }) },
      },
    },
    async (c, { body }) => {
      const secret = randomToken(WORKER_SECRET_PREFIX);
      const id = `gpuw_${crypto.randomUUID().replaceAll("-", "")}`;
      const worker = await serviceCredentials(c.env).addGpuWorker(id, body.name, await sha256Hex(secret));
      return c.json({ ...worker, ...NEVER_SEEN, secret }, 201);
    },
  )
  .route(
    {
      method: "get",
      path: "/gpu-workers",
      auth: ADMIN,
      summary: "Every GPU worker: last seen, loaded models, free VRAM, jobs in hand",
      responses: { 200: { description: "Workers", schema: z.object({ workers: z.array(GpuWorker) }) } },
    },
    async (c) => {
      const [credentials, seen] = await Promise.all([
        serviceCredentials(c.env).gpuWorkers(),
        jobBoard(c.env).workersSeen(),
      ]);
      return c.json({ workers: credentials.map((w) => ({ ...w, ...(seen[w.id] ?? NEVER_SEEN) })) });
    },
  )
  .route(
    {
      method: "delete",
      path: "/gpu-workers/:id",
      auth: ADMIN,
      summary: "Revoke a GPU worker credential; its next call is refused with 401",
      params: IdParams,
      responses: { 204: { description: "Revoked" }, 404: { description: "No such live worker" } },
    },
    async (c, { params }) => {
      unwrap(await serviceCredentials(c.env).revokeGpuWorker(params.id));
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "get",
      path: "/jobs",
      auth: ADMIN,
      summary: "Everyone's jobs (dead-lettered ones included), oldest first, or newest first with order=newest",
      query: z.object({
        status: JobStatus.optional(),
        after: z.coerce.number().int().nonnegative().optional(),
        order: z.enum(["oldest", "newest"]).default("oldest"),
      }),
      responses: {
        200: {
          description: "A page; pass `next` as `after` for the next",
          schema: z.object({ jobs: z.array(AdminJob), next: z.number().nullable() }),
        },
      },
    },
    async (c, { query }) =>
      c.json(
        await jobBoard(c.env).list({ status: query.status, after: query.after, newest: query.order === "newest" }),
      ),
  )
  .route(
    {
      method: "post",
      path: "/jobs/:id/retry",
      auth: ADMIN,
      summary: "Queue a dead, failed or cancelled job again with fresh attempts",
      params: IdParams,
      responses: {
        200: { description: "The queued job", schema: AdminJob },
        404: { description: "No such job" },
        409: { description: "The job is queued, running or completed" },
      },
    },
    async (c, { params }) => c.json(unwrap(await jobBoard(c.env).retry(params.id))),
  );
