// The Durable Objects and the queue consumer that src/index.ts wires, through their real bindings.
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HubTickets } from "../../durable-objects/hub-tickets";
import type { JobBoard } from "../../durable-objects/job-board";
import { migrateSqlite, schemaVersion } from "../../durable-objects/sqlite-migrations";
import worker from "../../src/index";
import { objectRows } from "./support";

describe("Durable Objects", () => {
  it("JobBoard answers ping through its SQLite storage", async () => {
    const stub = env.JOB_BOARD.get(env.JOB_BOARD.idFromName("t"));
    expect(await stub.ping()).toEqual({ sqlite: true });
    const backend = await runInDurableObject(stub, (_: JobBoard, state) => state.storage.sql.databaseSize);
    expect(backend).toBeGreaterThan(0);
  });

  it("versions each object's SQLite schema: a migration runs once, in order, and newer storage is refused", async () => {
    const stub = env.HUB_TICKETS.get(env.HUB_TICKETS.idFromName(`migrations-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_: HubTickets, state) => {
      const version = () => schemaVersion(state.storage);
      // The constructor applied the object's own schema.
      const own = version();
      expect(own).toBeGreaterThan(0);
      const later = [
        ...Array<string>(own).fill("SELECT 1"),
        "CREATE TABLE extra (n INTEGER)",
        "INSERT INTO extra VALUES (1)",
      ];
      migrateSqlite(state.storage, later);
      migrateSqlite(state.storage, later);
      expect(version()).toBe(own + 2);
      expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM extra").one().n).toBe(1);
      expect(() => migrateSqlite(state.storage, later.slice(0, own))).toThrow(/newer than this code/);
    });
  });

  it("rolls back a failing migration with its version bump", async () => {
    const stub = env.HUB_TICKETS.get(env.HUB_TICKETS.idFromName(`migrations-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_: HubTickets, state) => {
      const version = () => schemaVersion(state.storage);
      const own = version();
      const broken = [...Array<string>(own).fill("SELECT 1"), "CREATE TABLE half (n INTEGER)", "NOT SQL"];
      expect(() => migrateSqlite(state.storage, broken)).toThrow();
      expect(version()).toBe(own);
      const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'half'").toArray();
      expect(tables).toEqual([]);
    });
  });

  it("Hub answers, named by getByName, with its SQLite storage", async () => {
    expect(await env.HUB.getByName("public:binding").stats()).toEqual({
      room: "public:binding",
      online: 0,
      lastSeq: 0,
    });
    expect(await objectRows(env.HUB.getByName("public:binding"), "SELECT 1 AS one")).toEqual([{ one: 1 }]);
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
