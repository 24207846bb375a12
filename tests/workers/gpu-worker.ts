// A scripted GPU worker client for route tests: a credential issued by an admin, and the protocol's calls.
import { expect } from "vitest";
import type { JobLease } from "../../src/lib/jobs/protocol";
import { api, json } from "./support";

/** A GPU worker as the tests script it: a credential issued by the admin, and the protocol's calls. */
export async function newWorker(adminToken: string, name = "test-gpu") {
  const res = await api("POST", "/v1/admin/gpu-workers", { token: adminToken, body: { name } });
  expect(res.status).toBe(201);
  const { id, secret } = await json<{ id: string; secret: string }>(res);
  const call = (method: string, path: string, body?: unknown) => api(method, path, { token: secret, body });
  return {
    id,
    secret,
    call,
    /** Leases until the given job comes up (the shared board may hold other tests' jobs), failing the others back. */
    async leaseJob(jobId: string): Promise<JobLease> {
      for (let i = 0; i < 50; i++) {
        const res = await call("POST", "/v1/gpu/lease", { freeVramMiB: 80_000, loadedModels: [], max: 8 });
        expect(res.status).toBe(200);
        const { jobs } = await json<{ jobs: JobLease[] }>(res);
        const mine = jobs.find((j) => j.jobId === jobId);
        for (const other of jobs.filter((j) => j !== mine)) {
          await call("POST", `/v1/gpu/jobs/${other.jobId}/fail`, {
            leaseId: other.leaseId,
            error: "not this test's",
            retryable: false,
          });
        }
        if (mine) return mine;
      }
      throw new Error(`job ${jobId} was never leased`);
    },
  };
}
