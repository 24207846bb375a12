// GPU jobs as the routes see them: the one board, turning its refusals into API errors, and storing a submission's input in R2.
import type { Context } from "hono";
import type { JobBoard, OwnedJob } from "../../../durable-objects/job-board";
import type { AppEnv, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { RpcClient } from "../platform/rpc";
import { signUrl, verifySignedUrl } from "../platform/signed-url";
import { untrustedContentHeaders } from "../platform/untrusted-content";
import { JOB_LIMITS, type JobInputRef, type JobLease, type JobRecord, type JsonValue } from "./protocol";

/** Every job lives on one board: fair scheduling needs to see every queued job at once (docs/jobs.md). */
export function jobBoard(env: Env, name = "global"): RpcClient<JobBoard> {
  return env.JOB_BOARD.getByName(name) as unknown as RpcClient<JobBoard>;
}

/** A job as its owner sees it (without the owner). */
export function publicJob(job: OwnedJob): JobRecord {
  const { owner: _owner, ...rest } = job;
  return rest;
}

const INPUT_URL_LABEL = "gpu job input";
const inputPath = (jobId: string) => `/v1/gpu/inputs/${jobId}`;

/**
 * Each byte input's short-lived signed download URL (docs/jobs.md): the worker fetches it without its credential,
 * and it stops working at its expiry or when the lease ends. Without a signing secret the leases go out as they
 * are and the worker uses the credentialed route.
 */
export async function withInputUrls(c: Context<AppEnv>, leases: JobLease[]): Promise<JobLease[]> {
  const secret = c.env.JWT_PRIVATE_KEY;
  if (!secret) return leases;
  const origin = new URL(c.req.url).origin;
  const expires = Date.now() + JOB_LIMITS.inputUrlTtlMs;
  return Promise.all(
    leases.map(async (lease) =>
      "r2Key" in lease.input
        ? {
            ...lease,
            inputUrl: await signUrl(
              secret,
              INPUT_URL_LABEL,
              origin,
              inputPath(lease.jobId),
              { lease: lease.leaseId },
              expires,
            ),
          }
        : lease,
    ),
  );
}

/** Whether a signed input URL's query is genuine and unexpired; the lease is checked separately. */
export async function verifyInputUrl(
  env: Env,
  jobId: string,
  query: { lease: string; expires: number; sig: string },
): Promise<boolean> {
  const secret = env.JWT_PRIVATE_KEY;
  if (!secret) return false;
  return verifySignedUrl(secret, INPUT_URL_LABEL, inputPath(jobId), { lease: query.lease }, query.expires, query.sig);
}

/** A job's byte input from R2, streamed with its media type. */
export async function inputResponse(env: Env, input: JobInputRef): Promise<Response> {
  if (!("r2Key" in input)) throw new ApiError("not_found", "This job's input is inline text");
  const object = await env.FILES.get(input.r2Key);
  if (!object) throw new ApiError("not_found", "Input not found");
  return new Response(object.body, {
    headers: { "Content-Type": input.mediaType, "Content-Length": String(object.size) },
  });
}

/** Where a job's input and artifacts live in R2. */
export const jobInputKey = (jobId: string) => `jobs/${jobId}/input`;
export const jobArtifactKey = (jobId: string, name: string) => `jobs/${jobId}/artifacts/${name}`;

/** The artifact a worker named in its result (`{artifact: "<name>", …}`), if any. */
function resultArtifact(result: JsonValue | undefined): string | undefined {
  if (typeof result !== "object" || result === null || Array.isArray(result)) return undefined;
  const name = result.artifact;
  return typeof name === "string" ? name : undefined;
}

/** A completed job's output file as a response, with the media type the worker stored it with. */
export async function artifactResponse(env: Env, job: OwnedJob): Promise<Response> {
  if (job.status !== "completed") throw new ApiError("conflict", `The job is ${job.status}, not completed`);
  const name = resultArtifact(job.result);
  const object = name ? await env.FILES.get(jobArtifactKey(job.id, name)) : null;
  if (!object) throw new ApiError("not_found", "This job's result has no artifact; read `result` on the job");
  // The worker chose the media type: served as a download that cannot run on this origin.
  return new Response(object.body, {
    headers: {
      "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
      ...untrustedContentHeaders(name ?? "result"),
    },
  });
}
