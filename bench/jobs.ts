// `npm run bench:jobs`: GPU jobs through the one JobBoard on the production runtime (dev/start.ts). Users submit
// BENCH_JOBS speech jobs while BENCH_JOB_WORKERS simulated GPU workers lease (up to 8 at a time) and complete them at
// once: jobs per second through the board (first submission to last completion) and the time from submission to
// lease (p50/p99). The workers do no GPU work, so this measures the edge's share of a job's latency.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../dev/db-bridge/server";
import { generateKeyPairSecrets } from "../src/lib/keys";
import type { JobLease } from "../src/lib/protocol";
import { envInt, failBench, log, watchdog } from "./lib/common";
import { startTessera, type Target } from "./lib/harness";
import { percentile } from "./lib/load";

const NAME = "bench:jobs";
const JOBS = envInt("BENCH_JOBS", 400, 1, 100_000);
const WORKERS = envInt("BENCH_JOB_WORKERS", 4, 1, 64);
const USERS = envInt("BENCH_JOB_USERS", 4, 1, 64);
/** Submissions in flight at once (each user's share runs in its own loop). */
const SUBMIT_CONCURRENCY = envInt("BENCH_JOB_SUBMITTERS", 16, 1, 256);
const BOOTSTRAP = "bench-bootstrap-token-0123456789";
const UNLIMITED = {
  RATE_LIMIT_USER_PER_MINUTE: "1000000",
  RATE_LIMIT_IP_PER_MINUTE: "1000000",
  AUTH_RATE_LIMIT_SCALE: "100000000",
  LOG_LEVEL: "warn",
  ADMIN_BOOTSTRAP_TOKEN: BOOTSTRAP,
};

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
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-jobs-"));
  const bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
  let tessera: Target | undefined;
  try {
    tessera = await startTessera("tessera", {
      databaseUrl: bridge.url,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED },
    });
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
          loadedModels: ["kokoro-82m"],
          max: 8,
        });
        const now = performance.now();
        if (jobs.length === 0) {
          // The protocol is a short poll: an idle worker waits a little before asking again.
          await new Promise((r) => setTimeout(r, 5));
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
    await tessera?.close();
    await bridge.close();
    await rm(tmp, { recursive: true, force: true });
    disarm();
  }
}

main().catch(failBench(NAME));
