// The GPU job board: every job's state and lease, and what it has seen of each worker, in this object's SQLite
// storage, so an eviction or restart loses nothing (the workers' credentials live in ServiceCredentials); one alarm, set to the earliest lease deadline, expires leases.
// One board for the deployment (jobBoard() in src/lib/jobs/board.ts): fairness needs every queued job in one place.
import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import { publishToUser } from "../src/lib/hub/rooms";
import { reportJobOutcome } from "../src/lib/jobs/outcomes";
import {
  GpuWorkerState,
  JOB_LIMITS,
  type JobEventName,
  type JobInputRef,
  type JobLease,
  type JobRecord,
  JobSpec,
  type JobStatus,
  type JsonValue,
} from "../src/lib/jobs/protocol";
import { type JobType, jobTypeSpec } from "../src/lib/jobs/types";
import type { GpuWorkerSeen } from "../src/lib/jobs/worker-credential";
import { type Env, getConfig } from "../src/lib/platform/env";
import type { Refusable } from "../src/lib/platform/refusal";
import { JobOutputs, type OutputCursor, type OutputRead } from "./job-output";
import { migrateSqlite } from "./sqlite-migrations";

/** What a waiting lease call can take: its worker's report. */
type WaitingWorker = z.output<typeof GpuWorkerState>;

/** What a board call that can be refused answers (the objects' convention, src/lib/platform/refusal.ts). */
type BoardResult<T> = Refusable<T>;

export interface OwnedJob extends JobRecord {
  owner: string;
}

interface JobPage {
  jobs: OwnedJob[];
  /** The `seq` to pass as `after` for the next page; null on the last. */
  next: number | null;
}

interface JobRow extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  owner: string;
  type: string;
  lane: string;
  model: string;
  vram_mib: number;
  status: string;
  progress: number;
  input: string;
  options: string;
  result: string | null;
  error: string | null;
  attempts: number;
  max_attempts: number;
  available_at: number;
  lease_id: string | null;
  lease_worker: string | null;
  lease_deadline: number | null;
  cancel_requested: number;
  created_at: number;
  updated_at: number;
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  type TEXT NOT NULL,
  lane TEXT NOT NULL,
  model TEXT NOT NULL,
  vram_mib INTEGER NOT NULL,
  status TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  input TEXT NOT NULL,
  options TEXT NOT NULL,
  result TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  lease_id TEXT,
  lease_worker TEXT,
  lease_deadline INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (status, lane, available_at);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, last_served INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  last_seen_at INTEGER,
  free_vram_mib INTEGER,
  loaded_models TEXT NOT NULL DEFAULT '[]'
);
`,
  // 2: the request body each Idempotency-Key was first used with (a SHA-256), so a reuse with another body is refused.
  "CREATE TABLE idempotency (job_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)",
  // 3: the workers' credentials moved to ServiceCredentials (credentials issued before then are issued again); the
  // board keeps only what it sees of a worker, by id.
  `CREATE TABLE worker_seen (
     id TEXT PRIMARY KEY,
     last_seen_at INTEGER NOT NULL,
     free_vram_mib INTEGER NOT NULL,
     loaded_models TEXT NOT NULL
   );
   INSERT INTO worker_seen SELECT id, last_seen_at, free_vram_mib, loaded_models FROM workers
     WHERE last_seen_at IS NOT NULL AND free_vram_mib IS NOT NULL;
   DROP TABLE workers;`,
];

/** Backoff before attempt n+1 after attempt n failed. */
export function retryDelayMs(attempt: number): number {
  return Math.min(JOB_LIMITS.retryMaxMs, JOB_LIMITS.retryBaseMs * 2 ** Math.max(0, attempt - 1));
}

const iso = (ms: number) => new Date(ms).toISOString();

function toRecord(row: JobRow): OwnedJob {
  const job: OwnedJob = {
    id: row.id,
    owner: row.owner,
    type: row.type as JobType,
    status: row.status as JobStatus,
    progress: row.progress,
    attempts: row.attempts,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
  if (row.result !== null) job.result = JSON.parse(row.result);
  if (row.error !== null) job.error = row.error;
  return job;
}

const EVENT_FOR: Partial<Record<JobStatus, JobEventName>> = {
  queued: "job.queued",
  running: "job.started",
  completed: "job.completed",
  failed: "job.failed",
  dead: "job.failed",
  cancelled: "job.cancelled",
};

export class JobBoard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly leaseMs: number;
  /** Lease calls waiting for work (long-poll), woken by every change that could make a job leasable. Only in
   *  memory: after an eviction a waiting call simply fails and its worker asks again, so nothing durable depends on
   *  it. */
  private readonly waiters = new Map<() => void, WaitingWorker>();
  /** Running jobs' streamed output, for the requests that wait on it (durable-objects/job-output.ts). */
  private readonly outputs = new JobOutputs();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateSqlite(ctx.storage, MIGRATIONS);
    this.leaseMs = getConfig(env).jobsLeaseMs;
  }

  async ping(): Promise<{ sqlite: boolean }> {
    const row = this.sql.exec<{ one: number }>("SELECT 1 AS one").one();
    return { sqlite: row.one === 1 };
  }

  // ---- jobs ----

  /**
   * Ties an idempotent job id to the fingerprint of the request that first used it; true when `fingerprint` is that
   * request's (or this is the first use), false when the key was first used with another body. Atomic: the board
   * runs one call at a time.
   */
  claimIdempotency(jobId: string, fingerprint: string): boolean {
    this.sql.exec("INSERT OR IGNORE INTO idempotency (job_id, fingerprint) VALUES (?, ?)", jobId, fingerprint);
    const row = this.sql
      .exec<{ fingerprint: string }>("SELECT fingerprint FROM idempotency WHERE job_id = ?", jobId)
      .one();
    return row.fingerprint === fingerprint;
  }

  /** Adds a job; a second enqueue of the same id returns the first job unchanged (queue redelivery, client retry). */
  enqueue(spec: JobSpec): OwnedJob {
    const job = JobSpec.parse(spec);
    const existing = this.row(job.id);
    if (existing) return toRecord(existing);
    const type = jobTypeSpec(job.type);
    this.wakeOneFor({ type: job.type, model: type.model, vramMiB: type.vramMiB });
    const now = Date.now();
    this.sql.exec(
      `INSERT INTO jobs (id, owner, type, lane, model, vram_mib, status, input, options, max_attempts, available_at,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      job.id,
      job.owner,
      job.type,
      job.lane ?? type.lane,
      type.model,
      type.vramMiB,
      JSON.stringify(job.input),
      JSON.stringify(job.options),
      JOB_LIMITS.maxAttempts,
      now,
      now,
      now,
    );
    return this.changed(job.id);
  }

  get(id: string, owner?: string): OwnedJob | null {
    const row = this.row(id);
    if (!row || (owner !== undefined && row.owner !== owner)) return null;
    return toRecord(row);
  }

  /** A page of jobs, oldest first; `owner` undefined lists everyone's (admin). */
  /**
   * A page of jobs, oldest first after `after`; with `newest`, newest first before `after` (the admin console's
   * view, where the newest jobs matter and there may be many pages of old ones).
   */
  list(filter: { owner?: string; status?: JobStatus; after?: number; limit?: number; newest?: boolean }): JobPage {
    const limit = Math.min(filter.limit ?? JOB_LIMITS.pageSize, JOB_LIMITS.pageSize);
    const where = filter.newest ? "seq < ?1" : "seq > ?1";
    const rows = this.sql
      .exec<JobRow>(
        `SELECT * FROM jobs WHERE ${where} AND (?2 IS NULL OR owner = ?2) AND (?3 IS NULL OR status = ?3)
         ORDER BY seq ${filter.newest ? "DESC" : "ASC"} LIMIT ?4`,
        filter.after ?? (filter.newest ? Number.MAX_SAFE_INTEGER : 0),
        filter.owner ?? null,
        filter.status ?? null,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return { jobs: page.map(toRecord), next: rows.length > limit ? (page.at(-1)?.seq ?? null) : null };
  }

  /**
   * Hands a worker up to `max` jobs, waiting up to `waitMs` for one when none fits now (long-poll): every change
   * that could make a job leasable wakes the waiting calls, and a job in backoff wakes them when its backoff ends.
   */
  async lease(workerId: string, state: GpuWorkerState): Promise<JobLease[]> {
    const worker = GpuWorkerState.parse(state);
    const until = Date.now() + worker.waitMs;
    for (;;) {
      const leases = this.leaseNow(workerId, worker);
      const left = until - Date.now();
      if (leases.length > 0 || left <= 0) return leases;
      await this.waitForWork(worker, Math.min(left, this.untilNextBackoffEnds()));
    }
  }

  /**
   * The interactive lane before batch (a batch job ready for over JOB_LIMITS.batchPromotionMs counts as interactive,
   * so neither lane starves the other); among owners with a ready job, the one served least recently (round-robin,
   * so one user's backlog never starves another); within that owner, a job whose model the worker has loaded
   * first, then the oldest. A job is only a candidate if the worker runs its type, and its model is loaded or fits
   * in the free VRAM left after the jobs already handed out in this call.
   */
  private leaseNow(workerId: string, worker: z.output<typeof GpuWorkerState>): JobLease[] {
    const now = Date.now();
    let free = worker.freeVramMiB;
    const loaded = new Set(worker.loadedModels);
    const types = worker.types ? JSON.stringify(worker.types) : null;
    const leases: JobLease[] = [];
    this.sql.exec(
      `INSERT INTO worker_seen (id, last_seen_at, free_vram_mib, loaded_models) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, free_vram_mib = excluded.free_vram_mib,
         loaded_models = excluded.loaded_models`,
      workerId,
      now,
      worker.freeVramMiB,
      JSON.stringify(worker.loadedModels),
    );
    while (leases.length < worker.max) {
      const row = this.sql
        .exec<JobRow>(
          `SELECT j.* FROM jobs j LEFT JOIN owners o ON o.owner = j.owner
           WHERE j.status = 'queued' AND j.available_at <= ?1
             AND (j.vram_mib <= ?2 OR j.model IN (SELECT value FROM json_each(?3)))
             AND (?4 IS NULL OR j.type IN (SELECT value FROM json_each(?4)))
           ORDER BY CASE WHEN j.lane = 'interactive' OR j.available_at <= ?5 THEN 0 ELSE 1 END, COALESCE(o.last_served, 0),
             CASE WHEN j.model IN (SELECT value FROM json_each(?3)) THEN 0 ELSE 1 END, j.seq
           LIMIT 1`,
          now,
          free,
          JSON.stringify([...loaded]),
          types,
          now - JOB_LIMITS.batchPromotionMs,
        )
        .toArray()[0];
      if (!row) break;
      const leaseId = crypto.randomUUID();
      const deadline = now + this.leaseMs;
      const attempt = row.attempts + 1;
      this.sql.exec(
        `UPDATE jobs SET status = 'running', attempts = ?, lease_id = ?, lease_worker = ?, lease_deadline = ?,
           progress = 0, error = NULL, updated_at = ? WHERE id = ?`,
        attempt,
        leaseId,
        workerId,
        deadline,
        now,
        row.id,
      );
      this.sql.exec(
        `INSERT INTO owners (owner, last_served) VALUES (?1, (SELECT COALESCE(MAX(last_served), 0) + 1 FROM owners))
         ON CONFLICT (owner) DO UPDATE SET last_served = (SELECT MAX(last_served) + 1 FROM owners)`,
        row.owner,
      );
      if (!loaded.has(row.model)) {
        free -= row.vram_mib;
        loaded.add(row.model);
      }
      leases.push({
        jobId: row.id,
        leaseId,
        leaseDeadline: deadline,
        attempt,
        type: row.type as JobType,
        model: row.model,
        input: JSON.parse(row.input) as JobInputRef,
        options: JSON.parse(row.options) as Record<string, JsonValue>,
      });
      this.changed(row.id);
    }
    if (leases.length > 0) this.scheduleAlarm();
    return leases;
  }

  /**
   * Puts leased jobs back in the queue as if never handed out: the attempt is not counted and nothing waits for a
   * lease to expire. For a call whose worker had already hung up, and for a worker handing back what it holds when
   * it shuts down. A lease that has moved on (or, with `workerId`, is another worker's) is left alone.
   */
  giveBack(leases: { jobId: string; leaseId: string }[], workerId?: string): number {
    let returned = 0;
    for (const { jobId, leaseId } of leases) {
      const row = this.leased(jobId, leaseId, workerId);
      if (!row.ok) continue;
      this.sql.exec(
        `UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_id = NULL, lease_worker = NULL,
           lease_deadline = NULL, progress = 0, available_at = ?1, updated_at = ?1 WHERE id = ?2`,
        Date.now(),
        jobId,
      );
      this.changed(jobId);
      returned++;
    }
    if (returned > 0) {
      this.wakeWaiters();
      this.scheduleAlarm();
    }
    return returned;
  }

  /** Extends a live lease and records progress; `cancel` tells the worker to stop (its owner cancelled). */
  heartbeat(
    id: string,
    leaseId: string,
    progress?: number,
    workerId?: string,
  ): BoardResult<{ leaseDeadline: number; cancel: boolean }> {
    const row = this.leased(id, leaseId, workerId);
    if (!row.ok) return row;
    const now = Date.now();
    const deadline = now + this.leaseMs;
    this.sql.exec(
      "UPDATE jobs SET lease_deadline = ?, progress = COALESCE(?, progress), updated_at = ? WHERE id = ?",
      deadline,
      progress ?? null,
      now,
      id,
    );
    if (progress !== undefined) this.publish(row.value.owner, "job.progress", id, { progress });
    this.scheduleAlarm();
    return { ok: true, value: { leaseDeadline: deadline, cancel: row.value.cancel_requested === 1 } };
  }

  complete(id: string, leaseId: string, result: unknown, workerId?: string): BoardResult<OwnedJob> {
    const row = this.leased(id, leaseId, workerId);
    if (!row.ok) return row;
    const text = JSON.stringify(result ?? null);
    this.sql.exec(
      `UPDATE jobs SET status = 'completed', progress = 1, result = ?, lease_id = NULL, lease_deadline = NULL,
         updated_at = ? WHERE id = ?`,
      text,
      Date.now(),
      id,
    );
    return { ok: true, value: this.changed(id) };
  }

  /** The input of a job under a live lease (for its worker's download); a stale lease → conflict. */
  leasedInput(id: string, leaseId: string, workerId?: string): BoardResult<JobInputRef> {
    const row = this.leased(id, leaseId, workerId);
    if (!row.ok) return row;
    return { ok: true, value: JSON.parse(row.value.input) as JobInputRef };
  }

  /** A failed attempt: retried with backoff while attempts remain and the error is retryable, else failed or dead. */
  fail(id: string, leaseId: string, error: string, retryable: boolean, workerId?: string): BoardResult<OwnedJob> {
    const row = this.leased(id, leaseId, workerId);
    if (!row.ok) return row;
    this.endAttempt(row.value, error.slice(0, JOB_LIMITS.maxErrorChars), retryable);
    return { ok: true, value: this.changed(id) };
  }

  /** A worker's streamed pieces for a job under its live lease; `cancel` as in a heartbeat's answer. */
  appendOutput(id: string, leaseId: string, pieces: string[], workerId?: string): BoardResult<{ cancel: boolean }> {
    const row = this.leased(id, leaseId, workerId);
    if (!row.ok) return row;
    this.outputs.append(id, leaseId, pieces);
    return { ok: true, value: { cancel: row.value.cancel_requested === 1 } };
  }

  /** The job's new output for this cursor, waiting up to `waitMs` for some (long-poll); null: no such job. */
  readOutput(id: string, owner: string, cursor: OutputCursor, waitMs: number): Promise<OutputRead<OwnedJob> | null> {
    return this.outputs.read(id, cursor, waitMs, () => this.get(id, owner));
  }

  /** A queued job is cancelled at once; a running one is flagged, and its worker learns at the next heartbeat. */
  cancel(id: string, owner?: string): BoardResult<OwnedJob> {
    const row = this.row(id);
    if (!row || (owner !== undefined && row.owner !== owner)) return notFound();
    if (row.status === "queued") {
      this.sql.exec("UPDATE jobs SET status = 'cancelled', updated_at = ? WHERE id = ?", Date.now(), id);
      return { ok: true, value: this.changed(id) };
    }
    if (row.status === "running") {
      this.sql.exec("UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?", Date.now(), id);
      return { ok: true, value: toRecord(this.mustRow(id)) };
    }
    return { ok: false, error: "conflict", message: `A ${row.status} job cannot be cancelled` };
  }

  /** Admin: a dead, failed or cancelled job goes back to the queue with a fresh set of attempts. */
  retry(id: string): BoardResult<OwnedJob> {
    const row = this.row(id);
    if (!row) return notFound();
    if (!["dead", "failed", "cancelled"].includes(row.status)) {
      return { ok: false, error: "conflict", message: `A ${row.status} job cannot be retried` };
    }
    const now = Date.now();
    this.sql.exec(
      `UPDATE jobs SET status = 'queued', attempts = 0, available_at = ?, cancel_requested = 0, progress = 0,
         updated_at = ? WHERE id = ?`,
      now,
      now,
      id,
    );
    this.wakeWaiters();
    return { ok: true, value: this.changed(id) };
  }

  /** Expires every lease past its deadline, then sets the alarm for the next one. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const expired = this.sql
      .exec<JobRow>("SELECT * FROM jobs WHERE status = 'running' AND lease_deadline <= ?", now)
      .toArray();
    for (const row of expired) {
      this.endAttempt(row, "lease expired", true);
      this.changed(row.id);
    }
    this.scheduleAlarm();
  }

  // ---- workers ----

  /** What the board has seen of each worker that has asked for work, by worker id. */
  workersSeen(): Record<string, GpuWorkerSeen> {
    const rows = this.sql
      .exec<{ id: string; last_seen_at: number; free_vram_mib: number; loaded_models: string; jobs_in_hand: number }>(
        `SELECT w.*, (SELECT COUNT(*) FROM jobs j WHERE j.status = 'running' AND j.lease_worker = w.id) AS jobs_in_hand
         FROM worker_seen w`,
      )
      .toArray();
    return Object.fromEntries(
      rows.map((w) => [
        w.id,
        {
          lastSeenAt: iso(w.last_seen_at),
          freeVramMiB: w.free_vram_mib,
          loadedModels: JSON.parse(w.loaded_models) as string[],
          jobsInHand: w.jobs_in_hand,
        },
      ]),
    );
  }

  // ---- internals ----

  private endAttempt(row: JobRow, error: string, retryable: boolean): void {
    const now = Date.now();
    let status: JobStatus = "queued";
    if (row.cancel_requested === 1) status = "cancelled";
    else if (!retryable) status = "failed";
    else if (row.attempts >= row.max_attempts) status = "dead";
    this.sql.exec(
      `UPDATE jobs SET status = ?, error = ?, available_at = ?, lease_id = NULL, lease_worker = NULL,
         lease_deadline = NULL, updated_at = ? WHERE id = ?`,
      status,
      error,
      now + (status === "queued" ? retryDelayMs(row.attempts) : 0),
      now,
      row.id,
    );
    // A job back in the queue is due only after its backoff; waiting calls re-time their sleep for it.
    if (status === "queued") this.wakeWaiters();
  }

  /** Resolves after `ms`, or as soon as the queue changes in a way this worker may care about. */
  private waitForWork(worker: WaitingWorker, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.set(done, worker);
    });
  }

  /** Wakes every waiting call: for changes whose timing or fit a call must judge itself (requeues, retries). */
  private wakeWaiters(): void {
    for (const wake of [...this.waiters.keys()]) wake();
  }

  /**
   * Wakes the longest-waiting call that could take a new job, and only that one: one job, one worker. Waking them
   * all made every enqueue cost a lease query per waiting worker (and halved the board's rate in bench:jobs).
   */
  private wakeOneFor(job: { type: string; model: string; vramMiB: number }): void {
    for (const [wake, worker] of this.waiters) {
      const runsType = !worker.types || worker.types.includes(job.type as JobType);
      const fits = job.vramMiB <= worker.freeVramMiB || worker.loadedModels.includes(job.model);
      if (runsType && fits) {
        wake();
        return;
      }
    }
  }

  /** Milliseconds until the earliest job in backoff becomes leasable (infinite when none is waiting). */
  private untilNextBackoffEnds(): number {
    const now = Date.now();
    const at = this.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(available_at) AS at FROM jobs WHERE status = 'queued' AND available_at > ?",
        now,
      )
      .one().at;
    return at === null ? Number.POSITIVE_INFINITY : at - now;
  }

  /**
   * The running job under this lease, or why not: another lease (or none) is a stale caller → conflict. With
   * `workerId`, the lease must also be that worker's: a lease id alone never lets another worker act on a job.
   */
  private leased(id: string, leaseId: string, workerId?: string): BoardResult<JobRow> {
    const row = this.row(id);
    if (!row) return notFound();
    if (
      row.status !== "running" ||
      row.lease_id !== leaseId ||
      (workerId !== undefined && row.lease_worker !== workerId)
    ) {
      return { ok: false, error: "conflict", message: "This lease is no longer current" };
    }
    return { ok: true, value: row };
  }

  private row(id: string): JobRow | undefined {
    return this.sql.exec<JobRow>("SELECT * FROM jobs WHERE id = ?", id).toArray()[0];
  }

  private mustRow(id: string): JobRow {
    const row = this.row(id);
    if (!row) throw new Error(`job ${id} vanished`);
    return row;
  }

  /** The job after a status change, with its event published to the owner (best effort). */
  private changed(id: string): OwnedJob {
    const job = toRecord(this.mustRow(id));
    this.outputs.changed(job);
    const event = EVENT_FOR[job.status];
    if (event) this.publish(job.owner, event, id, { job });
    // The owner's notification and the job's latency (docs/notifications.md); never fails the transition.
    if (job.status === "completed" || job.status === "dead")
      this.ctx.waitUntil(reportJobOutcome(this.env, this.ctx, job));
    return job;
  }

  private publish(owner: string, name: JobEventName, jobId: string, data: Record<string, unknown>): void {
    // Best effort: a hub outage must never fail or roll back a job transition.
    this.ctx.waitUntil(
      publishToUser(this.env, owner, { data: { event: name, jobId, ...data } }).then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  private scheduleAlarm(): void {
    const next = this.sql
      .exec<{ at: number | null }>("SELECT MIN(lease_deadline) AS at FROM jobs WHERE status = 'running'")
      .one().at;
    if (next === null) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(next);
  }
}

function notFound(): { ok: false; error: "not_found"; message: string } {
  return { ok: false, error: "not_found", message: "Job not found" };
}
