// /v1/jobs: GPU jobs as their owner sees them — submit, read, list, cancel (docs/jobs.md).
import { z } from "zod";
import { principal } from "../src/lib/identity/auth";
import { artifactResponse, jobBoard, publicJob } from "../src/lib/jobs/board";
import { JobRecord, JobStatus } from "../src/lib/jobs/protocol";
import {
  assertSameSubmission,
  JobSubmission,
  SUBMISSION_BODY_LIMIT,
  storeSubmissionInput,
  submissionFromForm,
  submissionJobId,
  toJobSpec,
} from "../src/lib/jobs/submission";
import { decodeCursor, encodeCursor } from "../src/lib/platform/cursor";
import { ApiError } from "../src/lib/platform/errors";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

const JobParams = z.object({ id: z.string().min(1).max(128) });
const ListQuery = z.object({ status: JobStatus.optional(), cursor: z.string().max(200).optional() });
const Cursor = z.tuple([z.number().int().nonnegative()]);
const JobPageSchema = z.object({ jobs: z.array(JobRecord), nextCursor: z.string().nullable() });

export const jobsService = new ApiRouter("jobs")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Submit a GPU job",
      description:
        "JSON `{type, input: {text} | {base64, mediaType}, options}`, or multipart/form-data with fields `type`, " +
        "`file` (or `text`) and optional `options` (JSON). Send `Idempotency-Key` to make a retry answer the same " +
        "job instead of making a second one.",
      body: JobSubmission,
      multipart: submissionFromForm,
      bodyLimit: SUBMISSION_BODY_LIMIT,
      responses: {
        202: { description: "The job, queued (or as it is now, for a repeated Idempotency-Key)", schema: JobRecord },
        415: { description: "A media type the job type does not accept" },
      },
    },
    async (c, { body }) => {
      const owner = principal(c).sub;
      const board = jobBoard(c.env);
      const id = await submissionJobId(c, owner);
      await assertSameSubmission(c, board, id, body);
      // A retry finds its job before storing the input again.
      const existing = await board.get(id, owner);
      if (existing) return c.json(publicJob(existing), 202);
      const input = await storeSubmissionInput(c, id, body);
      return c.json(publicJob(await board.enqueue(toJobSpec(id, owner, body, input))), 202);
    },
  )
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Your jobs, oldest first",
      query: ListQuery,
      responses: { 200: { description: "A page of jobs", schema: JobPageSchema } },
    },
    async (c, { query }) => {
      const after = query.cursor ? decodeCursor(query.cursor, Cursor)[0] : undefined;
      const page = await jobBoard(c.env).list({ owner: principal(c).sub, status: query.status, after });
      return c.json({
        jobs: page.jobs.map(publicJob),
        nextCursor: page.next === null ? null : encodeCursor([page.next]),
      });
    },
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "One of your jobs",
      params: JobParams,
      responses: { 200: { description: "The job", schema: JobRecord }, 404: { description: "No such job of yours" } },
    },
    async (c, { params }) => {
      const job = await jobBoard(c.env).get(params.id, principal(c).sub);
      if (!job) throw new ApiError("not_found", "Job not found");
      return c.json(publicJob(job));
    },
  )
  .route(
    {
      method: "get",
      path: "/:id/result",
      auth: "user",
      summary: "A completed job's output file (e.g. the WAV): the artifact its result names as `artifact`",
      params: JobParams,
      responses: {
        200: { description: "The artifact's bytes, with the media type the worker gave them" },
        404: { description: "No such job of yours, or its result names no artifact" },
        409: { description: "The job has not completed" },
      },
    },
    async (c, { params }) => {
      const job = await jobBoard(c.env).get(params.id, principal(c).sub);
      if (!job) throw new ApiError("not_found", "Job not found");
      return artifactResponse(c.env, job);
    },
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Cancel a job: a queued one at once, a running one at its worker's next heartbeat",
      params: JobParams,
      responses: {
        200: { description: "The job after the request", schema: JobRecord },
        404: { description: "No such job of yours" },
        409: { description: "The job has already finished" },
      },
    },
    async (c, { params }) => c.json(publicJob(unwrap(await jobBoard(c.env).cancel(params.id, principal(c).sub)))),
  );
