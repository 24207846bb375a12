// The bridge's SQL-over-HTTP side, through the real @neondatabase/serverless `neon()` driver and
// drizzle's neon-http, on PGlite always and on a real Postgres when DATABASE_URL names one.
import { request } from "node:http";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { NeonDbError, type NeonQueryFunction, neon } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { BackendKind } from "../../dev/db-bridge/backend";
import { configureNeonForBridge, startThrowawayBridge, type ThrowawayBridge } from "../../dev/db-bridge/throwaway";
import { instance } from "../../src/lib/db/schema";

const backends: BackendKind[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
const MAX_BODY = 1024 * 1024;

configureNeonForBridge();

/** A request with headers fetch() will not set (Host); resolves with the status. */
function rawRequest(
  port: number,
  opts: { method: string; path: string; headers: Record<string, string>; body: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: opts.method, path: opts.path, headers: opts.headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once("error", reject);
    req.end(opts.body);
  });
}

/** 101 when the bridge accepts the WebSocket, else the status it refused with. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", () => resolve(0));
  });
}

describe.each(backends)("db bridge over HTTP (%s)", (backend) => {
  let tb: ThrowawayBridge;
  let sql: NeonQueryFunction<false, false>;
  let base: string;

  beforeAll(async () => {
    tb = await startThrowawayBridge(backend, { maxBodyBytes: MAX_BODY });
    sql = neon(tb.bridge.url);
    base = `http://127.0.0.1:${tb.bridge.port}`;
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  it("round-trips parameters, NULLs and common types", async () => {
    await sql`create table types_rt (
      i int, b bigint, n numeric, t boolean, ts timestamptz, j jsonb, a int[], ta text[], u uuid, by bytea, s text)`;
    const ts = new Date("2024-02-29T12:34:56.789Z");
    const bytes = Buffer.from([0, 1, 2, 0x5c, 254, 255]);
    const uuid = "0b9c5a52-8a0f-4c8e-9a41-7c1e2f3d4b5a";
    const json = { a: [1, "x", null], nested: { ok: true }, quote: 'he said "hi"' };
    await sql`insert into types_rt values (${42}, ${"9007199254740993"}, ${"12345.678901234567890"}, ${true}, ${ts},
      ${json}, ${[1, 2, 3]}, ${["a", "b,c", 'q"', "", null]}, ${uuid}, ${bytes}, ${"héllo ✓ 'quoted'"})`;
    await sql`insert into types_rt values (${null}, ${null}, ${null}, ${null}, ${null}, ${null}, ${null}, ${null},
      ${null}, ${null}, ${null})`;

    const rows = await sql`select * from types_rt order by i nulls last`;
    expect(rows).toHaveLength(2);
    const [row, empty] = rows as Record<string, unknown>[];
    expect(row).toMatchObject({
      i: 42,
      b: "9007199254740993", // int8 stays a string: no precision lost
      n: "12345.678901234567890",
      t: true,
      j: json,
      a: [1, 2, 3],
      ta: ["a", "b,c", 'q"', "", null],
      u: uuid,
      s: "héllo ✓ 'quoted'",
    });
    // A Date, or the raw text once drizzle's neon-http has been set up in this process: its
    // drizzle() swaps the driver's global timestamp parsers for identity functions.
    expect(new Date(row?.ts as Date | string).toISOString()).toBe(ts.toISOString());
    expect(Buffer.from(row?.by as Uint8Array).equals(bytes)).toBe(true);
    expect(Object.values(empty ?? {}).every((v) => v === null)).toBe(true);

    const [direct] =
      await sql`select ${null}::int as nothing, ${"x"}::text as x, ${-1.5}::float8 as f, ${false}::bool as no`;
    expect(direct).toEqual({ nothing: null, x: "x", f: -1.5, no: false });
  });

  it("returns Neon's full result shape and array mode", async () => {
    const full = await sql.query("select 1::int as one, 'two'::text as two", [], { fullResults: true });
    expect(full.command).toBe("SELECT");
    expect(full.rowCount).toBe(1);
    expect(full.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["one", 23],
      ["two", 25],
    ]);
    expect(full.rows).toEqual([{ one: 1, two: "two" }]);
    const arrays = await sql.query("select 1 as a, 2 as a", [], { arrayMode: true });
    expect(arrays).toEqual([[1, 2]]); // duplicate column names survive in array mode

    const res = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": tb.bridge.url },
      body: JSON.stringify({ query: "select $1::int as n, null::text as z", params: ["7"] }),
    });
    // Without Neon-Raw-Text-Output / Neon-Array-Mode: parsed values, rows as objects.
    expect(await res.json()).toMatchObject({ rows: [{ n: 7, z: null }], rowAsArray: false, command: "SELECT" });
  });

  it("runs a batch as one transaction: a failing statement rolls back the others", async () => {
    await sql`create table batch_t (id int primary key, note text)`;
    const failed = await sql
      .transaction([
        sql`insert into batch_t values (1, 'a')`,
        sql`insert into batch_t values (2, 'b')`,
        sql`insert into batch_t values (1, 'duplicate')`,
      ])
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(NeonDbError);
    expect(failed).toMatchObject({ code: "23505" });
    expect(await sql`select count(*)::int as n from batch_t`).toEqual([{ n: 0 }]);

    const [inserted, counted] = await sql.transaction([
      sql`insert into batch_t values (3, 'c') returning id`,
      sql`select count(*)::int as n from batch_t`,
    ]);
    expect(inserted).toEqual([{ id: 3 }]);
    expect(counted).toEqual([{ n: 1 }]);
  });

  it("honours the batch isolation, read-only and deferrable options", async () => {
    const isolation = await sql.transaction([sql`show transaction_isolation`], { isolationLevel: "Serializable" });
    expect(isolation).toEqual([[{ transaction_isolation: "serializable" }]]);
    const deferrable = await sql.transaction([sql`show transaction_deferrable`], {
      isolationLevel: "Serializable",
      readOnly: true,
      deferrable: true,
    });
    expect(deferrable).toEqual([[{ transaction_deferrable: "on" }]]);
    await sql`create table ro_t (id int)`;
    await expect(sql.transaction([sql`insert into ro_t values (1)`], { readOnly: true })).rejects.toMatchObject({
      code: "25006",
    });
  });

  it("reports Postgres errors with their code, message and fields", async () => {
    await sql`create table err_t (email text constraint err_t_email_key unique)`;
    await sql`insert into err_t values ('a@example.com')`;
    const dup = (await sql`insert into err_t values ('a@example.com')`.catch((e: unknown) => e)) as NeonDbError;
    expect(dup).toBeInstanceOf(NeonDbError);
    expect(dup).toMatchObject({
      code: "23505",
      severity: "ERROR",
      constraint: "err_t_email_key",
      table: "err_t",
      schema: "public",
      message: 'duplicate key value violates unique constraint "err_t_email_key"',
    });
    expect(dup.detail).toContain("already exists");

    const syntax = (await sql`select nope from err_t`.catch((e: unknown) => e)) as NeonDbError;
    expect(syntax).toMatchObject({ code: "42703", position: "8" });
    // Neon runs every query through the extended protocol: one statement per query.
    await expect(sql.query("select 1; select 2")).rejects.toMatchObject({ code: "42601" });
    // The session is fine afterwards.
    expect(await sql`select 1 as ok`).toEqual([{ ok: 1 }]);
  });

  it("serves drizzle's neon-http driver against the migrated schema", async () => {
    const db = drizzle({ client: sql });
    const rows = await db.select().from(instance);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.createdAt).toBeInstanceOf(Date);
  });

  it("answers malformed requests with clear JSON errors and enforces the body limit", async () => {
    const auth = { "Neon-Connection-String": tb.bridge.url };
    const post = (body: string) => fetch(`${base}/sql`, { method: "POST", headers: auth, body });
    const bad = await post("{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const noQuery = await post(JSON.stringify({ params: [] }));
    expect(noQuery.status).toBe(400);
    expect(((await noQuery.json()) as { message: string }).message).toMatch(/query must be a string/);
    const badHeader = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { ...auth, "Neon-Batch-Isolation-Level": "Sideways" },
      body: JSON.stringify({ queries: [{ query: "select 1", params: [] }] }),
    });
    expect(badHeader.status).toBe(400);

    const tooBig = await post(JSON.stringify({ query: "select $1::text", params: ["x".repeat(MAX_BODY)] }));
    expect(tooBig.status).toBe(413);
    const nearLimit = "y".repeat(MAX_BODY - 1024);
    expect(await sql`select length(${nearLimit}::text) as n`).toEqual([{ n: nearLimit.length }]);

    const health = await fetch(`${base}/health`);
    expect(await health.json()).toEqual({ status: "ok", backend });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/sql`, { headers: auth })).status).toBe(405);
  });

  it("refuses what a web page can send: a foreign Origin, another Host, no or a wrong secret, other content types", async () => {
    await sql`create table gate_t (id int primary key, roles text)`;
    await sql`insert into gate_t values (1, 'user')`;
    const attack = JSON.stringify({ query: "update gate_t set roles = 'admin'", params: [] });
    // The browser's "simple" request: text/plain with the page's Origin, no preflight.
    const simple = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8", origin: "https://evil.example" },
      body: attack,
    });
    expect(simple.status).toBe(403);
    // Even with the secret, an Origin means a browser.
    const withOrigin = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": tb.bridge.url, origin: "http://127.0.0.1:3000" },
      body: attack,
    });
    expect(withOrigin.status).toBe(403);
    const noSecret = await fetch(`${base}/sql`, { method: "POST", body: attack });
    expect(noSecret.status).toBe(401);
    const wrongSecret = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": tb.bridge.url.replace(/:[^:@]+@/, ":guess@") },
      body: attack,
    });
    expect(wrongSecret.status).toBe(401);
    const form = await fetch(`${base}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": tb.bridge.url, "content-type": "application/x-www-form-urlencoded" },
      body: attack,
    });
    expect(form.status).toBe(415);
    // A DNS-rebinding page reaches loopback under its own host name.
    const rebound = await rawRequest(tb.bridge.port, {
      method: "POST",
      path: "/sql",
      headers: { host: `evil.example:${tb.bridge.port}`, "neon-connection-string": tb.bridge.url },
      body: attack,
    });
    expect(rebound).toBe(403);
    expect(await sql`select roles from gate_t`).toEqual([{ roles: "user" }]);
    // No WebSocket side any more: an upgrade gets no 101.
    expect(await upgradeStatus(`ws://127.0.0.1:${tb.bridge.port}/v2`, {})).not.toBe(101);
  });

  it("listens on 127.0.0.1 only", async () => {
    const tryConnect = (host: string) =>
      new Promise<string>((resolve) => {
        const socket = connect({ host, port: tb.bridge.port });
        socket.once("connect", () => {
          socket.destroy();
          resolve("connected");
        });
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
    expect(await tryConnect("127.0.0.1")).toBe("connected");
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a?.address as string);
    for (const host of [...others, "::1"]) expect(await tryConnect(host)).not.toBe("connected");
    expect(tb.bridge.url).toMatch(
      new RegExp(`^postgres://tessera:[\\w-]{32}@127\\.0\\.0\\.1:${tb.bridge.port}/tessera$`),
    );
  });
});
