// The lease loop: asks the edge for as many jobs as it has free slots (long-poll), runs each one (input → model →
// artifacts → complete/fail) with a heartbeat that extends its lease, reports progress and hears of cancellation, and
// on shutdown stops leasing, lets running jobs finish within a grace period and hands the rest back as retryable.
import { JOB_LIMITS, type JobLease, type JobTypeName } from "../src/lib/jobs/protocol";
import { redactPaths } from "../src/lib/jobs/redact";
import type { Backend, JobInput, LoadedModel } from "./backends/types";
import { type EdgeClient, EdgeError } from "./client";
import { jobModels, type ModelEntry, type WorkerConfig } from "./config";
import { JobError } from "./errors";
import { errorMessage, type Log } from "./log";
import type { Metrics } from "./metrics";
import { OutputSender } from "./output";
import type { VramManager } from "./vram";

/** Why a running job's signal was aborted. */
export type AbortCause = "cancelled" | "lease-lost" | "shutdown";

class JobAbort extends Error {
  constructor(readonly reason: AbortCause) {
    super(
      reason === "cancelled" ? "cancelled by its owner" : reason === "shutdown" ? "worker shutting down" : "lease lost",
    );
  }
}

interface RunningJob {
  lease: JobLease;
  controller: AbortController;
  progress: number;
  /** Still waiting for its model (counts against the free VRAM the worker reports). */
  waiting: boolean;
  done: Promise<void>;
}

export interface WorkerDeps {
  config: Pick<
    WorkerConfig,
    | "maxJobs"
    | "types"
    | "leaseWaitMs"
    | "idlePollMs"
    | "idlePollMaxMs"
    | "heartbeatMs"
    | "device"
    | "threads"
    | "hfEndpoint"
    | "hfToken"
  >;
  models: ModelEntry[];
  client: EdgeClient;
  vram: VramManager<ModelEntry, LoadedModel>;
  metrics: Metrics;
  log: Log;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export class GpuWorker {
  readonly running = new Map<string, RunningJob>();
  private readonly models: Map<string, ModelEntry>;
  private readonly stopLeasing = new AbortController();
  private slotWaiters: (() => void)[] = [];
  private loop?: Promise<void>;
  private stopping?: Promise<void>;
  leaseCalls = 0;

  constructor(private readonly deps: WorkerDeps) {
    this.models = jobModels(deps.models);
  }

  get started(): boolean {
    return this.loop !== undefined;
  }

  get draining(): boolean {
    return this.stopLeasing.signal.aborted;
  }

  start(): void {
    this.loop ??= this.leaseLoop();
  }

  /**
   * Stops leasing at once, waits up to `graceMs` for running jobs, then aborts the rest, which report a retryable
   * failure (the board gives them to another worker after their backoff).
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.stopLeasing.abort();
      await this.loop;
      const all = () => Promise.all([...this.running.values()].map((j) => j.done));
      const finished = await Promise.race([all().then(() => true), new Promise((r) => setTimeout(r, graceMs, false))]);
      if (!finished) {
        const left = [...this.running.values()];
        this.deps.log.warn("grace period over: handing back running jobs", { jobs: left.map((j) => j.lease.jobId) });
        for (const job of left) job.controller.abort(new JobAbort("shutdown"));
        await all();
      }
    })();
    return this.stopping;
  }

  private async leaseLoop(): Promise<void> {
    const { config, client, log } = this.deps;
    const signal = this.stopLeasing.signal;
    let backoff = config.idlePollMs;
    let idle = config.idlePollMs;
    while (!signal.aborted) {
      const free = config.maxJobs - this.running.size;
      if (free <= 0) {
        await this.waitForSlot(signal);
        continue;
      }
      const report = await this.deps.vram.report(this.pendingMiB());
      const asked = Date.now();
      let jobs: JobLease[];
      try {
        this.leaseCalls++;
        jobs = await client.lease(
          {
            ...report,
            max: Math.min(JOB_LIMITS.maxLeaseBatch, free),
            types: config.types as [JobTypeName, ...JobTypeName[]],
            waitMs: config.leaseWaitMs,
          },
          signal,
        );
        backoff = config.idlePollMs;
      } catch (err) {
        if (signal.aborted) break;
        const wait = err instanceof EdgeError && err.retryAfterMs ? err.retryAfterMs : backoff;
        log.warn("lease call failed", { error: errorMessage(err), retryInMs: wait });
        await sleep(wait, signal);
        backoff = Math.min(backoff * 2, 30_000);
        continue;
      }
      for (const lease of jobs) this.startJob(lease);
      if (jobs.length > 0) idle = config.idlePollMs;
      else if (Date.now() - asked < config.leaseWaitMs / 2) {
        // An edge that does not long-poll answers an empty list at once: pause, longer while idle, before asking again.
        await sleep(idle, signal);
        idle = Math.min(idle * 2, config.idlePollMaxMs);
      }
    }
  }

  private waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.slotWaiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** VRAM that jobs in hand will need for models not loaded yet (each model once). */
  private pendingMiB(): number {
    const loaded = new Set(this.deps.vram.snapshot().models.map((m) => m.id));
    const pending = new Map<string, number>();
    for (const job of this.running.values()) {
      const spec = this.models.get(job.lease.model);
      if (job.waiting && spec && !loaded.has(spec.id)) pending.set(spec.id, spec.vramMiB);
    }
    let sum = 0;
    for (const v of pending.values()) sum += v;
    return sum;
  }

  private startJob(lease: JobLease): void {
    const job: RunningJob = {
      lease,
      controller: new AbortController(),
      progress: 0,
      waiting: true,
      done: Promise.resolve(),
    };
    this.running.set(lease.jobId, job);
    job.done = this.runJob(job).finally(() => {
      this.running.delete(lease.jobId);
      const waiters = this.slotWaiters;
      this.slotWaiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Heartbeats until stopped, each timed a third of the way to the lease deadline the edge last gave. */
  private heartbeats(job: RunningJob): () => void {
    const { client, config, log } = this.deps;
    let deadline = job.lease.leaseDeadline;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const schedule = () => {
      if (stopped) return;
      const wait = Math.min(config.heartbeatMs, Math.max(100, (deadline - Date.now()) / 3));
      timer = setTimeout(() => void beat(), wait);
    };
    const beat = async () => {
      try {
        const answer = await client.heartbeat(job.lease, job.progress);
        deadline = answer.leaseDeadline;
        if (answer.cancel) job.controller.abort(new JobAbort("cancelled"));
      } catch (err) {
        if (err instanceof EdgeError && (err.status === 409 || err.status === 404)) {
          job.controller.abort(new JobAbort("lease-lost"));
        } else if (Date.now() > deadline) {
          job.controller.abort(new JobAbort("lease-lost"));
        } else {
          log.warn("heartbeat failed; retrying at the next beat", { job: job.lease.jobId, error: errorMessage(err) });
        }
      }
      schedule();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private async runJob(job: RunningJob): Promise<void> {
    const { client, vram, metrics, log } = this.deps;
    const { lease, controller } = job;
    const signal = controller.signal;
    const started = performance.now();
    const stopBeats = this.heartbeats(job);
    const output = new OutputSender(
      (pieces) => client.output(lease, pieces),
      () => controller.abort(new JobAbort("cancelled")),
      (err) => {
        if (err instanceof EdgeError && (err.status === 409 || err.status === 404)) {
          controller.abort(new JobAbort("lease-lost"));
        } else {
          log.warn("streamed output not delivered; the result carries it", {
            job: lease.jobId,
            error: errorMessage(err),
          });
        }
      },
    );
    try {
      const spec = this.models.get(lease.model);
      if (!spec) throw new JobError(`this worker has no model ${lease.model} (job type ${lease.type})`, true);
      const input: JobInput = { type: lease.type, options: lease.options };
      if ("text" in lease.input) input.text = lease.input.text;
      else {
        input.bytes = await client.input(lease, signal);
        input.mediaType = lease.input.mediaType;
      }
      const done = await vram.use(
        spec,
        (model) => {
          job.waiting = false;
          signal.throwIfAborted();
          return model.run(input, {
            signal,
            log,
            progress: (p) => {
              job.progress = Math.max(job.progress, Math.min(1, p));
            },
            emit: (piece) => output.push(piece),
          });
        },
        signal,
      );
      // Every streamed piece is on the edge before the job ends, so a reader never sees the end before the text.
      await output.flush();
      signal.throwIfAborted();
      for (const artifact of done.artifacts ?? []) {
        await client.artifact(lease, artifact.name, artifact.contentType, artifact.bytes);
      }
      await client.complete(lease, done.result);
      metrics.jobFinished(lease.type, lease.model, "completed", (performance.now() - started) / 1000);
      log.info("job completed", { job: lease.jobId, type: lease.type, ms: Math.round(performance.now() - started) });
    } catch (err) {
      await output.flush();
      await this.report(job, err, (performance.now() - started) / 1000);
    } finally {
      stopBeats();
    }
  }

  /** Tells the edge how the job ended, unless the lease is no longer ours. */
  private async report(job: RunningJob, err: unknown, seconds: number): Promise<void> {
    const { client, metrics, log } = this.deps;
    const { lease } = job;
    const cause = job.controller.signal.reason instanceof JobAbort ? job.controller.signal.reason.reason : undefined;
    if (cause === "lease-lost" || (err instanceof EdgeError && err.status === 409)) {
      log.warn("lease lost: dropping the job (the edge re-queues or has finished it)", { job: lease.jobId });
      return;
    }
    if (cause === "shutdown") {
      // Not the job's fault: handed back without costing it an attempt or a backoff.
      metrics.jobFinished(lease.type, lease.model, "failed", seconds);
      log.warn("handing the job back: shutting down", { job: lease.jobId });
      try {
        await client.release(lease);
      } catch (releaseErr) {
        log.warn("could not hand the job back; the lease will expire", {
          job: lease.jobId,
          error: errorMessage(releaseErr),
        });
      }
      return;
    }
    let message: string;
    let retryable: boolean;
    if (cause === "cancelled") [message, retryable] = ["cancelled by its owner", false];
    else if (err instanceof JobError) [message, retryable] = [err.message, err.retryable];
    else [message, retryable] = [errorMessage(err), true]; // an engine crash or network error may not recur
    metrics.jobFinished(lease.type, lease.model, cause === "cancelled" ? "cancelled" : "failed", seconds);
    log.warn("job failed", { job: lease.jobId, type: lease.type, error: message, retryable });
    try {
      // The log above keeps the whole message; the job's owner reads it without this host's paths.
      await client.fail(lease, redactPaths(message), retryable);
    } catch (failErr) {
      log.warn("could not report the failure; the lease will expire", {
        job: lease.jobId,
        error: errorMessage(failErr),
      });
    }
  }
}

/** The VRAM manager's loader: the entry's backend, imported on first use. */
export function modelLoader(
  backend: (name: ModelEntry["backend"]) => Promise<Backend>,
  ctx: Parameters<Backend["load"]>[1],
): (entry: ModelEntry) => Promise<LoadedModel> {
  return async (entry) => (await backend(entry.backend)).load(entry, ctx);
}
