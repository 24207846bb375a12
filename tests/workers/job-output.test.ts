// Streamed job output on the JobBoard (durable-objects/job-output.ts, docs/llm.md "Streaming from the GPU
// worker"): a worker's pieces under its lease reach a waiting read at once, in order; stale leases are refused; a
// retried job streams from the start; and the worker route takes pieces only with the worker's credential.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobBoard } from "../../durable-objects/job-board";
import { jobBoard } from "../../src/lib/jobs/board";

type BoardClient = ReturnType<typeof jobBoard>;

import { newWorker } from "./gpu-worker";
import { api, createAdmin, json } from "./support";

let counter = 0;
const freshBoard = (): BoardClient => jobBoard(env, `output-board-${crypto.randomUUID()}`);
const roomy = { freeVramMiB: 80_000, loadedModels: [], types: ["llm.chat" as const] };
const start = { after: 0, generation: 0, status: "queued" as const };

async function leasedChat(board: BoardClient, owner = "llm-local") {
  const id = `chat-${++counter}`;
  await board.enqueue({ id, owner, type: "llm.chat", input: { text: "" }, options: { messages: [] } });
  const [lease] = await board.lease("w1", roomy);
  if (!lease) throw new Error("not leased");
  return { id, lease };
}

describe("JobBoard streamed output", () => {
  it("hands a waiting read the pieces the moment the worker posts them, in order, then the end", async () => {
    const board = freshBoard();
    const { id, lease } = await leasedChat(board);
    const first = await board.readOutput(id, "llm-local", start, 0);
    expect(first).toMatchObject({ pieces: [], generation: 0, job: { status: "running" } });
    const cursor = { after: 0, generation: 0, status: "running" as const };
    // The read waits (up to 20 s) and is answered by the post, not by its timeout.
    const waiting = board.readOutput(id, "llm-local", cursor, 20_000);
    expect(await board.appendOutput(id, lease.leaseId, ["Hel", "lo"], "w1")).toEqual({
      ok: true,
      value: { cancel: false },
    });
    const read = await waiting;
    expect(read).toMatchObject({ pieces: ["Hel", "lo"], next: 2, generation: 1 });
    const mid = { ...cursor, generation: 1, after: 2 };
    await board.appendOutput(id, lease.leaseId, [" there"], "w1");
    expect((await board.readOutput(id, "llm-local", mid, 0))?.pieces).toEqual([" there"]);

    const ending = board.readOutput(id, "llm-local", { ...mid, after: 3 }, 20_000);
    await board.complete(id, lease.leaseId, { content: "Hello there" }, "w1");
    expect(await ending).toMatchObject({
      pieces: [],
      job: { status: "completed", result: { content: "Hello there" } },
    });
  });

  it("refuses pieces under a stale lease or another worker's, and tells the worker to stop once cancelled", async () => {
    const board = freshBoard();
    const { id, lease } = await leasedChat(board);
    expect(await board.appendOutput(id, "not-the-lease", ["x"], "w1")).toMatchObject({ ok: false, error: "conflict" });
    expect(await board.appendOutput(id, lease.leaseId, ["x"], "w2")).toMatchObject({ ok: false, error: "conflict" });
    await board.cancel(id, "llm-local");
    expect(await board.appendOutput(id, lease.leaseId, ["y"], "w1")).toEqual({ ok: true, value: { cancel: true } });
  });

  it("shows a job only to its owner, and a retried job's new lease's pieces from their own start", async () => {
    const name = `output-board-${crypto.randomUUID()}`;
    const board = jobBoard(env, name);
    const { id, lease } = await leasedChat(board);
    expect(await board.readOutput(id, "someone-else", start, 0)).toBeNull();
    await board.appendOutput(id, lease.leaseId, ["one", "two"], "w1");
    await board.fail(id, lease.leaseId, "crashed", true, "w1");
    await runInDurableObject(env.JOB_BOARD.get(env.JOB_BOARD.idFromName(name)), (_: JobBoard, state) => {
      state.storage.sql.exec("UPDATE jobs SET available_at = 0 WHERE status = 'queued'");
    });
    const [second] = await board.lease("w1", roomy);
    expect(second?.attempt).toBe(2);
    await board.appendOutput(id, second?.leaseId ?? "", ["uno"], "w1");
    // A reader still on the first lease's pieces learns of the second, and gets its pieces from their start.
    const read = await board.readOutput(id, "llm-local", { after: 2, generation: 1, status: "running" }, 0);
    expect(read).toMatchObject({ generation: 2, pieces: ["uno"], next: 1 });
  });
});

describe("POST /v1/gpu/jobs/:id/output", () => {
  it("takes a worker's pieces under its lease, and refuses a user's token", async () => {
    const admin = await createAdmin();
    const worker = await newWorker(admin.accessToken, "stream-test");
    const board = jobBoard(env);
    const id = `route-chat-${crypto.randomUUID()}`;
    await board.enqueue({ id, owner: "llm-local", type: "llm.chat", input: { text: "" }, options: {} });
    const lease = await worker.leaseJob(id);
    const res = await worker.call("POST", `/v1/gpu/jobs/${id}/output`, { leaseId: lease.leaseId, pieces: ["a", "b"] });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ cancel: false });
    const read = await board.readOutput(id, "llm-local", { after: 0, generation: 0, status: "running" }, 0);
    expect(read?.pieces).toEqual(["a", "b"]);
    const user = await api("POST", `/v1/gpu/jobs/${id}/output`, {
      token: admin.accessToken,
      body: { leaseId: lease.leaseId, pieces: ["c"] },
    });
    expect(user.status).toBe(401);
    const stale = await worker.call("POST", `/v1/gpu/jobs/${id}/output`, { leaseId: "stale", pieces: ["c"] });
    expect(stale.status).toBe(409);
  });
});
