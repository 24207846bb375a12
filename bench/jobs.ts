import type { JobLease } from "../src/lib/jobs/protocol";
import { JOB_TYPES } from "../src/lib/jobs/types";
import { envInt, failBench, log, startBenchTessera, watchdog } from "./lib/common";
import type { Target } from "./lib/harness";
import { percentile } from "./lib/load";

const NAME = "bench:jobs";
const JOBS = envInt("BENCH_JOBS", 400, 1, 100_000);
const WORKERS = envInt("BENCH_JOB_WORKERS", 4, 1, 64);
const USERS = envInt("BENCH_JOB_USERS", 4, 1, 64);
/** Submissions in flight at once (each user's share runs in its own loop). */
const SUBMIT_CONCURRENCY = envInt("BENCH_JOB_SUBMITTERS", 16, 1, 256);
const WAIT_MS = envInt("BENCH_JOB_WAIT_MS", 1000, 0, 25_000);
const BOOTSTRAP = "bench-bootstrap-token-0123456789";

async function call<T>(target: Target, method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, target.url), {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function signIn(target: Target, path: string, name: string, token?: string): Promise<string> {
  const res = await fetch(new URL(path, target.url), {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ username: name, email: `${name}@example.com`, password: "bench password 1" }),
  });
  if (res.status !== 201) throw new Error(`${path} → ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function main(): Promise<void> {
  const disarm = watchdog(NAME, 300_000);
  log(`${NAME}: ${JOBS} jobs from ${USERS} users, ${WORKERS} simulated workers, ${SUBMIT_CONCURRENCY} submitters`);
  const { tessera, close } = await startBenchTessera("tessera-bench-jobs", { ADMIN_BOOTSTRAP_TOKEN: BOOTSTRAP });
  try {
    const target = tessera;
    const admin = await signIn(target, "/v1/auth/bootstrap", "benchadmin", BOOTSTRAP);
    const users = await Promise.all(
      Array.from({ length: USERS }, (_, i) => signIn(target, "/v1/auth/register", `benchuser${i}`)),
    );
    const secrets = await Promise.all(
      Array.from(
        { length: WORKERS },
        async (_, i) =>
          (await call<{ secret: string }>(target, "POST", "/v1/admin/gpu-workers", admin, { name: `bench-gpu-${i}` }))
            .secret,
      ),
    );

    const submittedAt = new Map<string, number>();
    const toLease: number[] = [];
    let completed = 0;
    let submittedCount = 0;
    const started = performance.now();

    const submitters = Array.from({ length: SUBMIT_CONCURRENCY }, async (_, s) => {
      const token = users[s % USERS] as string;
      for (;;) {
        if (submittedCount >= JOBS) return;
        submittedCount++;
        const t = performance.now();
        const job = await call<{ id: string }>(target, "POST", "/v1/jobs", token, {
          type: "speech",
          input: { text: "hi" },
        });
        // A lease can come back before this answer does; keep the earlier clock reading either way.
        if (!submittedAt.has(job.id)) submittedAt.set(job.id, t);
      }
    });

    const workers = secrets.map(async (secret) => {
      while (completed < JOBS) {
        const { jobs } = await call<{ jobs: JobLease[] }>(target, "POST", "/v1/gpu/lease", secret, {
          freeVramMiB: 24_000,
          loadedModels: [JOB_TYPES.speech.model],
          max: 8,
          // Long-poll: an idle worker's call waits on the board until a job arrives.
          waitMs: WAIT_MS,
        });
        const now = performance.now();
        if (jobs.length === 0) {
          // Short-poll mode (BENCH_JOB_WAIT_MS=0), for comparison: pause a little before asking again.
          if (WAIT_MS === 0) await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        for (const lease of jobs) {
          const at = submittedAt.get(lease.jobId);
          if (at === undefined) submittedAt.set(lease.jobId, now);
          toLease.push(now - (at ?? now));
        }
        await Promise.all(
          jobs.map((lease) =>
            call(target, "POST", `/v1/gpu/jobs/${lease.jobId}/complete`, secret, {
              leaseId: lease.leaseId,
              result: { ok: true },
            }),
          ),
        );
        completed += jobs.length;
      }
    });

    await Promise.all([...submitters, ...workers]);
    const seconds = (performance.now() - started) / 1000;
    const sorted = Float64Array.from(toLease).sort();
    log(`jobs/s through the board (submit → complete, ${JOBS} jobs): ${(JOBS / seconds).toFixed(1)}`);
    log(`submission → lease: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`);
    log(
      JSON.stringify({
        bench: NAME,
        jobs: JOBS,
        workers: WORKERS,
        users: USERS,
        jobsPerSecond: JOBS / seconds,
        submitToLeaseMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
      }),
    );
  } finally {
    await close();
    disarm();
  }
}

main().catch(failBench(NAME));
