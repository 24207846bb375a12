// The Durable Object and queue consumer that the foundation wires, through their real bindings.
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobBoard } from "../../durable-objects/job-board";
import worker from "../../src/index";

describe("Durable Objects", () => {
  it("JobBoard answers ping through its SQLite storage", async () => {
    const stub = env.JOB_BOARD.get(env.JOB_BOARD.idFromName("t"));
    expect(await stub.ping()).toEqual({ sqlite: true });
    const backend = await runInDurableObject(stub, (_: JobBoard, state) => state.storage.sql.databaseSize);
    expect(backend).toBeGreaterThan(0);
  });

  it("Hub answers ping", async () => {
    expect(await env.HUB.get(env.HUB.idFromName("t")).ping()).toEqual({ sqlite: true });
  });
});

describe("GPU_JOBS consumer", () => {
  it("acknowledges a health ping and drops an invalid message instead of retrying it forever", async () => {
    const batch = createMessageBatch("tessera-gpu-jobs", [
      { id: "a", timestamp: new Date(), attempts: 1, body: { kind: "health.ping", sentAt: Date.now() } },
      { id: "b", timestamp: new Date(), attempts: 1, body: { kind: "no.such.kind" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["a", "b"]);
    expect(result.retryMessages).toEqual([]);
  });
});
