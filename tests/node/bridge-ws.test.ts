// The bridge's WebSocket side, through the real @neondatabase/serverless Pool/Client and drizzle's
// neon-serverless, on PGlite always and on a real Postgres when DATABASE_URL names one.
import { Client, type NeonQueryFunction, neon, Pool } from "@neondatabase/serverless";
import { sql as dsql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { BackendKind } from "../../dev/db-bridge/backend";
import { queryMessage } from "../../dev/db-bridge/pg-wire";
import { configureNeonForBridge, startThrowawayBridge, type ThrowawayBridge } from "../../dev/db-bridge/throwaway";

const backends: BackendKind[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
// The lock wait is shorter than the idle limit so one test can watch both happen.
const LOCK_TIMEOUT_MS = 2_000;
const IDLE_TIMEOUT_MS = 3_000;

configureNeonForBridge();

/** The driver's socket is a ws WebSocket underneath; tests reach it to simulate a crash. */
function underlyingWebSocket(client: Client): WebSocket {
  return (client as unknown as { connection: { stream: { ws: WebSocket } } }).connection.stream.ws;
}

/** A raw protocol-3.0 StartupMessage, as any driver sends first. */
function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

describe.each(backends)("db bridge over WebSocket (%s)", (backend) => {
  let tb: ThrowawayBridge;
  let url: string;
  let sql: NeonQueryFunction<false, false>;

  beforeAll(async () => {
    tb = await startThrowawayBridge(backend, {
      lockTimeoutMs: LOCK_TIMEOUT_MS,
      idleInTransactionTimeoutMs: IDLE_TIMEOUT_MS,
    });
    url = tb.bridge.url;
    sql = neon(url);
    await sql`create table ws_t (id serial primary key, name text, txn int)`;
    await sql`create table counter (id int primary key, n int not null)`;
    await sql`insert into counter values (1, 0)`;
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  it("commits an interactive transaction", async () => {
    const pool = new Pool({ connectionString: url });
    const client = await pool.connect();
    try {
      await client.query("begin");
      const { rows } = await client.query("insert into ws_t (name) values ($1) returning id", ["committed"]);
      expect(rows[0].id).toBeGreaterThan(0);
      expect((await client.query("select count(*)::int as n from ws_t where name = 'committed'")).rows).toEqual([
        { n: 1 },
      ]);
      await client.query("commit");
    } finally {
      client.release();
      await pool.end();
    }
    expect(await sql`select name from ws_t where name = 'committed'`).toEqual([{ name: "committed" }]);
  });

  it("rolls back a transaction that throws (drizzle neon-serverless)", async () => {
    const pool = new Pool({ connectionString: url });
    const db = drizzle({ client: pool });
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(dsql`insert into ws_t (name) values ('rolled-back')`);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await db.transaction(async (tx) => {
      await tx.execute(dsql`insert into ws_t (name) values ('drizzle-ok')`);
    });
    await pool.end();
    expect(await sql`select name from ws_t where name in ('rolled-back', 'drizzle-ok')`).toEqual([
      { name: "drizzle-ok" },
    ]);
  });

  it("runs 20 concurrent transactions through one Pool without corrupting any", async () => {
    const pool = new Pool({ connectionString: url, max: 10 });
    try {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const client = await pool.connect();
          try {
            await client.query("begin");
            const before = await client.query("select n from counter where id = 1 for update");
            await client.query("insert into ws_t (name, txn) values ($1, $2)", [`txn-${i}`, i]);
            await client.query("update counter set n = n + 1 where id = 1");
            const own = await client.query("select count(*)::int as c, min(name) as name from ws_t where txn = $1", [
              i,
            ]);
            expect(own.rows).toEqual([{ c: 1, name: `txn-${i}` }]);
            const after = await client.query("select n from counter where id = 1");
            expect(after.rows[0].n).toBe(before.rows[0].n + 1);
            await client.query("commit");
          } finally {
            client.release();
          }
        }),
      );
      // Plain queries in parallel on several pooled connections (each idle between statements).
      const doubled = await Promise.all(
        Array.from({ length: 20 }, (_, i) => pool.query("select $1::int * 2 as v", [i])),
      );
      expect(doubled.map((r) => r.rows[0].v)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    } finally {
      await pool.end();
    }
    expect(await sql`select n from counter where id = 1`).toEqual([{ n: 20 }]);
    expect(await sql`select count(*)::int as n from ws_t where txn is not null`).toEqual([{ n: 20 }]);
  });

  it("accepts the driver's default pipelined connect (password sent ahead, unasked)", async () => {
    const client = new Client({ connectionString: url });
    client.neonConfig.pipelineConnect = "password";
    await client.connect();
    try {
      expect((await client.query("select current_database() is not null as ok")).rows).toEqual([{ ok: true }]);
    } finally {
      await client.end();
    }
  });

  it("does not leak session state (SET, temp tables) into the next session", async () => {
    const first = new Client({ connectionString: url });
    await first.connect();
    await first.query("set statement_timeout = '123s'");
    await first.query("create temp table scratch_tmp (x int)");
    await first.end();
    const second = new Client({ connectionString: url });
    await second.connect();
    try {
      expect((await second.query("show statement_timeout")).rows).toEqual([{ statement_timeout: "0" }]);
      expect((await second.query("select to_regclass('scratch_tmp') as t")).rows).toEqual([{ t: null }]);
    } finally {
      await second.end();
    }
  });

  it("a client that vanishes mid-transaction leaves no lock and no open transaction", async () => {
    const client = new Client({ connectionString: url });
    client.on("error", () => {}); // its socket is about to die under it
    await client.connect();
    await client.query("begin");
    await client.query("insert into ws_t (name) values ('ghost')");
    underlyingWebSocket(client).terminate(); // no close handshake, no Terminate: a crashed isolate

    const started = Date.now();
    expect(await sql`select count(*)::int as n from ws_t where name = 'ghost'`).toEqual([{ n: 0 }]);
    expect(Date.now() - started).toBeLessThan(LOCK_TIMEOUT_MS);

    // Vanishing halfway through an extended-protocol exchange (Parse sent, no Sync) is cleaned too.
    const raw = new WebSocket(`ws://127.0.0.1:${tb.bridge.port}/v2?secret=${new URL(url).password}`);
    const received: Buffer[] = [];
    raw.on("message", (data: Buffer) => received.push(data));
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    const readyCount = () => Buffer.concat(received).toString("latin1").split("Z\0\0\0\x05").length - 1;
    const waitReady = async (n: number) => {
      while (readyCount() < n) await new Promise((r) => setTimeout(r, 10));
    };
    raw.send(startupMessage({ user: "tessera", database: "tessera" }));
    await waitReady(1);
    raw.send(queryMessage("begin"));
    raw.send(queryMessage("insert into ws_t (name) values ('raw-ghost')"));
    await waitReady(3);
    const parse = Buffer.from("P\0\0\0\x0f\0select 1\0\0\0", "latin1"); // unnamed statement, no Sync
    raw.send(parse);
    raw.terminate();

    expect(await sql`select count(*)::int as n from ws_t where name like '%ghost'`).toEqual([{ n: 0 }]);
    const pool = new Pool({ connectionString: url });
    expect((await pool.query("select $1::text as ok", ["yes"])).rows).toEqual([{ ok: "yes" }]);
    await pool.end();

    if (backend === "postgres") {
      // The server side of the dead sessions is gone, not idle in transaction.
      const deadline = Date.now() + 5_000;
      let open = 1;
      while (open > 0 && Date.now() < deadline) {
        const rows = await sql`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'`;
        open = (rows[0] as { n: number }).n;
        if (open > 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(open).toBe(0);
    }
  });

  it.runIf(backend === "pglite")(
    "cuts a session that holds PGlite idle too long; others wait for it with a timeout",
    async () => {
      const holder = new Client({ connectionString: url });
      const holderErrors: unknown[] = [];
      holder.on("error", (e) => holderErrors.push(e));
      await holder.connect();
      await holder.query("begin");
      await holder.query("insert into ws_t (name) values ('idle-holder')");
      const started = Date.now();

      // Both give up at the lock timeout, while the holder is still within its idle allowance.
      const waitingClient = new Client({ connectionString: url });
      waitingClient.on("error", () => {});
      const [httpResult, wsResult] = await Promise.all([
        sql`select 1`.catch((e: unknown) => e),
        waitingClient.connect().catch((e: unknown) => e),
      ]);
      expect(httpResult).toMatchObject({ code: "55P03" });
      expect(wsResult).toMatchObject({ code: "55P03" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 100);

      // This one outlasts the holder's idle limit: the holder is cut and rolled back, then it runs.
      expect(await sql`select count(*)::int as n from ws_t where name = 'idle-holder'`).toEqual([{ n: 0 }]);
      expect(Date.now() - started).toBeLessThan(IDLE_TIMEOUT_MS + 1_500);
      await expect(holder.query("select 1")).rejects.toThrow();
      expect(holderErrors).toContainEqual(expect.objectContaining({ code: "25P03" }));
      // No holder.end(): pg's end() never settles on a connection the server already closed.
    },
  );

  it("refuses WebSocket upgrades outside /v2", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${tb.bridge.port}/elsewhere?secret=${new URL(url).password}`);
    const outcome = await new Promise<string>((resolve) => {
      ws.once("open", () => resolve("open"));
      ws.once("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
      ws.once("error", () => resolve("error"));
    });
    expect(outcome).toBe("404");
  });
});
