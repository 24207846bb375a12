// The edge's worker protocol (docs/jobs.md "Worker protocol") over fetch, with the worker credential on every call.

import { z } from "zod";
import {
  type GpuWorkerState,
  JOB_LIMITS,
  type JobLease,
  JobLease as JobLeaseSchema,
  type JsonValue,
} from "../src/lib/jobs/protocol";
import { JobError } from "./errors";

const LeaseAnswer = z.object({ jobs: z.array(JobLeaseSchema) });
const HeartbeatAnswer = z.object({ leaseDeadline: z.number(), cancel: z.boolean() });
const OutputAnswer = z.object({ cancel: z.boolean() });

export class EdgeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "EdgeError";
  }
}

export interface EdgeClient {
  lease(state: GpuWorkerState, signal?: AbortSignal): Promise<JobLease[]>;
  input(lease: JobLease, signal?: AbortSignal): Promise<Uint8Array>;
  heartbeat(lease: JobLease, progress?: number): Promise<{ leaseDeadline: number; cancel: boolean }>;
  /** Appends streamed pieces to the job's output; `cancel: true` means stop, as in a heartbeat's answer. */
  output(lease: JobLease, pieces: string[]): Promise<{ cancel: boolean }>;
  artifact(lease: JobLease, name: string, contentType: string, bytes: Uint8Array): Promise<void>;
  complete(lease: JobLease, result: JsonValue): Promise<void>;
  fail(lease: JobLease, error: string, retryable: boolean): Promise<void>;
  /** Hands the job back unfinished: queued again at once, the attempt not counted (shutting down). */
  release(lease: JobLease): Promise<void>;
}

export function edgeClient(baseUrl: string, secret: string, fetchImpl: typeof fetch = fetch): EdgeClient {
  const auth = { authorization: `Bearer ${secret}` };
  const send = async (method: string, path: string, init: RequestInit & { timeoutMs?: number } = {}) => {
    const signals = [AbortSignal.timeout(init.timeoutMs ?? 30_000), ...(init.signal ? [init.signal] : [])];
    const res = await fetchImpl(`${baseUrl}${path}`, {
      ...init,
      method,
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.any(signals),
    });
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new EdgeError(
        res.status,
        `${method} ${path.split("?")[0]} → ${res.status}: ${text.slice(0, 300)}`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    return res;
  };
  const json = (method: string, path: string, body: unknown, extra: RequestInit & { timeoutMs?: number } = {}) =>
    send(method, path, {
      ...extra,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const jobPath = (lease: JobLease, action: string) => `/v1/gpu/jobs/${encodeURIComponent(lease.jobId)}/${action}`;
  const leaseQuery = (lease: JobLease) => `leaseId=${encodeURIComponent(lease.leaseId)}`;

  return {
    async lease(state, signal) {
      const res = await json("POST", "/v1/gpu/lease", state, {
        signal,
        timeoutMs: (state.waitMs ?? 0) + 15_000,
      });
      return LeaseAnswer.parse(await res.json()).jobs;
    },
    async input(lease, signal) {
      // A signed URL needs no credential; without one, the credentialed route works under a live lease.
      const res = lease.inputUrl
        ? await fetchImpl(lease.inputUrl, {
            signal: AbortSignal.any([AbortSignal.timeout(60_000), ...(signal ? [signal] : [])]),
          })
        : await send("GET", `${jobPath(lease, "input")}?${leaseQuery(lease)}`, { signal, timeoutMs: 60_000 });
      if (!res.ok) throw new EdgeError(res.status, `input download → ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > JOB_LIMITS.maxInputBytes) {
        throw new JobError(`input is ${bytes.byteLength} bytes, over ${JOB_LIMITS.maxInputBytes}`, false);
      }
      return bytes;
    },
    async heartbeat(lease, progress) {
      const res = await json("POST", jobPath(lease, "heartbeat"), { leaseId: lease.leaseId, progress });
      return HeartbeatAnswer.parse(await res.json());
    },
    async output(lease, pieces) {
      const res = await json("POST", jobPath(lease, "output"), { leaseId: lease.leaseId, pieces });
      return OutputAnswer.parse(await res.json());
    },
    async artifact(lease, name, contentType, bytes) {
      await send("PUT", `${jobPath(lease, `artifacts/${encodeURIComponent(name)}`)}?${leaseQuery(lease)}`, {
        headers: { "content-type": contentType },
        body: bytes,
        timeoutMs: 120_000,
      });
    },
    async complete(lease, result) {
      await json("POST", jobPath(lease, "complete"), { leaseId: lease.leaseId, result });
    },
    async fail(lease, error, retryable) {
      await json("POST", jobPath(lease, "fail"), {
        leaseId: lease.leaseId,
        error: error.slice(0, JOB_LIMITS.maxErrorChars),
        retryable,
      });
    },
    async release(lease) {
      await json("POST", jobPath(lease, "release"), { leaseId: lease.leaseId });
    },
  };
}
