// The JobBoard object through its RPC: idempotency, fair and VRAM-aware leasing, lease expiry by alarm,
// stale leases, retries to the dead letter, cancellation, and state that survives a restart.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type JobBoard, retryDelayMs } from "../../durable-objects/job-board";
import { jobBoard } from "../../src/lib/jobs/board";
import { JOB_LIMITS, type JobSpec } from "../../src/lib/jobs/protocol";
import type { RpcClient } from "../../src/lib/platform/rpc";

let boardCounter = 0;
type Board = RpcClient<JobBoard>;
/** Each board's object name (a stub is a proxy, so it cannot carry the name itself). */
const names = new WeakMap<Board, string>();
/** The board's object itself, for runInDurableObject and runDurableObjectAlarm. */
const objectOf = (board: Board) => env.JOB_BOARD.get(env.JOB_BOARD.idFromName(names.get(board) ?? ""));
/** A board of its own per test, so no test sees another's jobs. */
function freshBoard(name = `test-board-${Date.now()}-${boardCounter++}`): Board {
  const board = jobBoard(env, name);
  names.set(board, name);
  return board;
}

let jobCounter = 0;
function spec(owner: string, type: JobSpec["type"] = "speech", extra: Partial<JobSpec> = {}): JobSpec {
  return { id: `job-${++jobCounter}`, owner, type, input: { text: "hello" }, ...extra };
}

/** Ends every backoff now, so a retried job is ready without waiting. */
function skipBackoff(board: Board): Promise<void> {
  return runInDurableObject(objectOf(board), (_: JobBoard, state) => {
    state.storage.sql.exec("UPDATE jobs SET available_at = 0 WHERE status = 'queued'");
  });
}

const roomy = { freeVramMiB: 80_000, loadedModels: [] };

describe("JobBoard", () => {
  it("enqueue is idempotent by job id", async () => {
    const board = freshBoard();
    const job = spec("u1");
    const first = await board.enqueue(job);
    const second = await board.enqueue({ ...job, input: { text: "something else" } });
    expect(second).toEqual(first);
    expect(first.status).toBe("queued");
    expect((await board.list({})).jobs).toHaveLength(1);
  });

  it("leases round-robin between owners, so one user's backlog does not starve another's job", async () => {
    const board = freshBoard();
    for (let i = 0; i < 5; i++) await board.enqueue(spec("heavy", "vision.ocr"));
    const light = await board.enqueue(spec("light", "vision.ocr"));
    const leases = await board.lease("w1", { ...roomy, max: 2 });
    expect(leases).toHaveLength(2);
    expect(leases.map((l) => l.jobId)).toContain(light.id);
  });

  it("alternates owners across lease calls", async () => {
    const board = freshBoard();
    for (let i = 0; i < 3; i++) await board.enqueue(spec("a", "vision.ocr"));
    for (let i = 0; i < 3; i++) await board.enqueue(spec("b", "vision.ocr"));
    const owners: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [lease] = await board.lease("w1", roomy);
      owners.push((await board.get(lease?.jobId ?? ""))?.owner ?? "");
    }
    expect(owners).toEqual(["a", "b", "a", "b"]);
  });

  it("serves the interactive lane before batch", async () => {
    const board = freshBoard();
    await board.enqueue(spec("u", "vision.ocr"));
    const interactive = await board.enqueue(spec("u", "speech"));
    const [lease] = await board.lease("w1", roomy);
    expect(lease?.jobId).toBe(interactive.id);
  });

  it("serves a batch job ready for over 30 s alongside interactive ones, so a flood of those cannot starve it", async () => {
    const board = freshBoard();
    const waiting = await board.enqueue(spec("patient", "vision.ocr"));
    for (let i = 0; i < 5; i++) await board.enqueue(spec("flooder", "speech"));
    const [first] = await board.lease("w1", { ...roomy, max: 1 });
    expect(first?.type).toBe("speech");
    await runInDurableObject(objectOf(board), (_: JobBoard, state) => {
      state.storage.sql.exec(
        "UPDATE jobs SET available_at = ? WHERE id = ?",
        Date.now() - JOB_LIMITS.batchPromotionMs - 1,
        waiting.id,
      );
    });
    // Promoted, the batch job's owner has not been served yet and the flooder just was: it comes next.
    const [second] = await board.lease("w1", { ...roomy, max: 1 });
    expect(second?.jobId).toBe(waiting.id);
  });

  it("never hands a 4 GB model's job to a worker with 2 GB free", async () => {
    const board = freshBoard();
    const big = await board.enqueue(
      spec("u", "transcribe", { input: { r2Key: "k", mediaType: "audio/wav", bytes: 1 } }),
    );
    expect(await board.lease("small", { freeVramMiB: 2048, loadedModels: [], max: 4 })).toEqual([]);
    const [lease] = await board.lease("big", { freeVramMiB: 8192, loadedModels: [] });
    expect(lease?.jobId).toBe(big.id);
  });

  it("counts VRAM across one lease call's jobs", async () => {
    const board = freshBoard();
    await board.enqueue(spec("a", "vision.ocr"));
    await board.enqueue(spec("b", "vision.detect"));
    // 1024 + 1536 MiB do not fit in 2048: only the first goes.
    expect(await board.lease("w", { freeVramMiB: 2048, loadedModels: [], max: 2 })).toHaveLength(1);
  });

  it("prefers a job whose model the worker has loaded", async () => {
    const board = freshBoard();
    await board.enqueue(spec("u", "vision.ocr"));
    const detect = await board.enqueue(spec("u", "vision.detect"));
    const [lease] = await board.lease("w", { freeVramMiB: 80_000, loadedModels: ["human-centernet"] });
    expect(lease?.jobId).toBe(detect.id);
  });

  it("an expired lease goes back to the queue (attempt counted) and a second worker gets it", async () => {
    const board = freshBoard();
    const job = await board.enqueue(spec("u"));
    const [first] = await board.lease("w1", roomy);
    expect(first?.attempt).toBe(1);
    await runInDurableObject(objectOf(board), (_: JobBoard, state) => {
      state.storage.sql.exec("UPDATE jobs SET lease_deadline = ? WHERE id = ?", Date.now() - 1, job.id);
    });
    expect(await runDurableObjectAlarm(objectOf(board))).toBe(true);
    const expired = await board.get(job.id);
    expect(expired).toMatchObject({ status: "queued", attempts: 1, error: "lease expired" });
    await skipBackoff(board);
    const [second] = await board.lease("w2", roomy);
    expect(second).toMatchObject({ jobId: job.id, attempt: 2 });
    // The first worker's lease is stale now: its complete is refused and changes nothing.
    expect(await board.complete(job.id, first?.leaseId ?? "", { text: "late" })).toMatchObject({
      ok: false,
      error: "conflict",
    });
    expect(await board.complete(job.id, second?.leaseId ?? "", { text: "ok" })).toMatchObject({ ok: true });
    expect(await board.get(job.id)).toMatchObject({ status: "completed", result: { text: "ok" }, progress: 1 });
  });

  it("a complete after completion is a conflict and never overwrites the result", async () => {
    const board = freshBoard();
    const job = await board.enqueue(spec("u"));
    const [lease] = await board.lease("w", roomy);
    await board.complete(job.id, lease?.leaseId ?? "", { n: 1 });
    expect(await board.complete(job.id, lease?.leaseId ?? "", { n: 2 })).toMatchObject({
      ok: false,
      error: "conflict",
    });
    expect((await board.get(job.id))?.result).toEqual({ n: 1 });
  });

  it("three retryable failures dead-letter a job; an admin retry brings it back to completion", async () => {
    const board = freshBoard();
    const job = await board.enqueue(spec("u"));
    for (let attempt = 1; attempt <= JOB_LIMITS.maxAttempts; attempt++) {
      await skipBackoff(board);
      const [lease] = await board.lease("w", roomy);
      expect(lease?.attempt).toBe(attempt);
      await board.fail(job.id, lease?.leaseId ?? "", `boom ${attempt}`, true);
    }
    expect(await board.get(job.id)).toMatchObject({ status: "dead", attempts: 3, error: "boom 3" });
    expect((await board.list({ status: "dead" })).jobs.map((j) => j.id)).toEqual([job.id]);
    expect(await board.lease("w", roomy)).toEqual([]);
    expect(await board.retry(job.id)).toMatchObject({ ok: true, value: { status: "queued", attempts: 0 } });
    const [lease] = await board.lease("w", roomy);
    await board.complete(job.id, lease?.leaseId ?? "", "done");
    expect(await board.get(job.id)).toMatchObject({ status: "completed", result: "done" });
  });

  it("a retryable failure waits out its backoff; a non-retryable one fails at once", async () => {
    const board = freshBoard();
    const job = await board.enqueue(spec("u"));
    const [lease] = await board.lease("w", roomy);
    await board.fail(job.id, lease?.leaseId ?? "", "transient", true);
    expect(await board.lease("w", roomy)).toEqual([]);
    expect(retryDelayMs(1)).toBe(JOB_LIMITS.retryBaseMs);
    await skipBackoff(board);
    const [again] = await board.lease("w", roomy);
    await board.fail(job.id, again?.leaseId ?? "", "bad input", false);
    expect(await board.get(job.id)).toMatchObject({ status: "failed", error: "bad input" });
  });

  it("cancels a queued job at once, and a running one at its next heartbeat", async () => {
    const board = freshBoard();
    const queued = await board.enqueue(spec("u"));
    expect(await board.cancel(queued.id, "u")).toMatchObject({ ok: true, value: { status: "cancelled" } });
    expect(await board.lease("w", roomy)).toEqual([]);

    const running = await board.enqueue(spec("u"));
    const [lease] = await board.lease("w", roomy);
    expect(await board.cancel(running.id, "someone else")).toMatchObject({ ok: false, error: "not_found" });
    expect(await board.cancel(running.id, "u")).toMatchObject({ ok: true, value: { status: "running" } });
    expect(await board.heartbeat(running.id, lease?.leaseId ?? "", 0.5)).toMatchObject({
      ok: true,
      value: { cancel: true },
    });
    await board.fail(running.id, lease?.leaseId ?? "", "cancelled by owner", true);
    expect(await board.get(running.id)).toMatchObject({ status: "cancelled" });
  });

  it("a heartbeat extends the lease and records progress", async () => {
    const board = freshBoard();
    const job = await board.enqueue(spec("u"));
    const [lease] = await board.lease("w", roomy);
    const beat = await board.heartbeat(job.id, lease?.leaseId ?? "", 0.25);
    expect(beat.ok && beat.value.leaseDeadline).toBeGreaterThanOrEqual(lease?.leaseDeadline ?? 0);
    expect(beat).toMatchObject({ ok: true, value: { cancel: false } });
    expect((await board.get(job.id))?.progress).toBe(0.25);
    expect(await board.heartbeat(job.id, "not-the-lease")).toMatchObject({ ok: false, error: "conflict" });
  });

  it("keeps every job and lease across a restart", async () => {
    const name = `restart-${Date.now()}`;
    const before = freshBoard(name);
    const leased = await before.enqueue(spec("u"));
    const [lease] = await before.lease("w", roomy);
    const queued = await before.enqueue(spec("u"));
    await abortAllDurableObjects();
    // A stub to an aborted object stays broken; a new one reaches the restarted object.
    const board = freshBoard(name);
    expect(await board.get(queued.id)).toMatchObject({ status: "queued" });
    expect(await board.get(leased.id)).toMatchObject({ status: "running" });
    expect(await board.complete(leased.id, lease?.leaseId ?? "", "ok")).toMatchObject({ ok: true });
  });

  it("lists by owner with a cursor", async () => {
    const board = freshBoard();
    for (let i = 0; i < 3; i++) await board.enqueue(spec("mine"));
    await board.enqueue(spec("theirs"));
    const first = await board.list({ owner: "mine", limit: 2 });
    expect(first.jobs).toHaveLength(2);
    const second = await board.list({ owner: "mine", after: first.next ?? 0, limit: 2 });
    expect(second.jobs).toHaveLength(1);
    expect(second.next).toBeNull();
    expect([...first.jobs, ...second.jobs].every((j) => j.owner === "mine")).toBe(true);
  });
});
