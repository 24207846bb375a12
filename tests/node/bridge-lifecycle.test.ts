// The bridge's life: migrations before the first client, data kept across restarts (clean, and
// kill -9 of the CLI process), one process per PGlite data dir, clean exits on SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { neon } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendKind } from "../../dev/db-bridge/backend";
import { DataDirLockedError } from "../../dev/db-bridge/data-dir-lock";
import { startBridge } from "../../dev/db-bridge/server";
import {
  configureNeonForBridge,
  createScratchDatabase,
  startThrowawayBridge,
  type ThrowawayBridge,
} from "../../dev/db-bridge/throwaway";
import { freePort } from "../../dev/lib/processes";

const backends: BackendKind[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = join(ROOT, "node_modules/.bin/tsx");

configureNeonForBridge();

async function instanceIds(url: string): Promise<string[]> {
  const rows = (await neon(url)`select id from instance`) as { id: string }[];
  return rows.map((r) => r.id);
}

describe.each(backends)("db bridge lifecycle (%s)", (backend) => {
  let tb: ThrowawayBridge;

  beforeAll(async () => {
    tb = await startThrowawayBridge(backend);
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  it("applies migrations before serving: one instance row, the same after a restart", async () => {
    const ids = await instanceIds(tb.bridge.url);
    expect(ids).toHaveLength(1);
    const health = await fetch(`http://127.0.0.1:${tb.bridge.port}/health`);
    expect(await health.json()).toEqual({ status: "ok", backend });

    await tb.bridge.close();
    await tb.bridge.close(); // idempotent
    const again = await tb.restart();
    expect(await instanceIds(again.url)).toEqual(ids);
    await again.close();
  });

  it.runIf(backend === "pglite")("refuses a second bridge on the same PGlite data dir", async () => {
    const first = await tb.restart();
    try {
      await expect(startBridge({ port: 0, dataDir: tb.target })).rejects.toBeInstanceOf(DataDirLockedError);
    } finally {
      await first.close();
    }
  });
});

interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The bridge URL from the ready line. */
  ready: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(env: Record<string, string | undefined>): CliRun {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  // Its own process group: tsx runs the script in a child node process, and kill -9 must hit both.
  const child = spawn(TSX, ["dev/db-bridge.ts"], { cwd: ROOT, env: childEnv, detached: true });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /db-bridge ready (postgres:\/\/\S+)/.exec(out);
      if (match) resolve(match[1] as string);
    };
    child.stdout?.on("data", check);
    void exit.then(({ code }) => reject(new Error(`bridge exited (${code}) before ready: ${err}`)));
  });
  ready.catch(() => {}); // observed by the tests that expect it
  return { child, stdout: () => out, stderr: () => err, ready, exit };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid !== undefined) process.kill(-child.pid, signal);
}

describe("db bridge CLI (pglite)", () => {
  let dir: string;
  const running = new Set<ChildProcess>();
  const start = (env: Record<string, string | undefined>) => {
    const run = runCli({ DATABASE_URL: undefined, ...env });
    running.add(run.child);
    void run.exit.then(() => running.delete(run.child));
    return run;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "db-bridge-cli-"));
  });
  afterAll(async () => {
    for (const child of running) killGroup(child, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps committed rows across kill -9, refuses a second process, and exits 0 on SIGTERM", async () => {
    const dataDir = join(dir, "pglite");
    const port = await freePort();
    const secret = "lifecycle-test-secret";
    const env = { PGLITE_DIR: dataDir, DB_BRIDGE_PORT: String(port), DB_BRIDGE_SECRET: secret };

    const first = start(env);
    // The ready line masks the secret; the caller that set it knows it.
    expect(await first.ready).toBe(`postgres://tessera:***@127.0.0.1:${port}/tessera`);
    const url = `postgres://tessera:${secret}@127.0.0.1:${port}/tessera`;
    const sql = neon(url);
    const ids = await instanceIds(url);
    await sql`create table kept (v text)`;
    await sql`insert into kept values ('survives kill -9')`;
    killGroup(first.child, "SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");

    const second = start(env);
    expect(await second.ready).toBe(`postgres://tessera:***@127.0.0.1:${port}/tessera`);
    expect(await sql`select v from kept`).toEqual([{ v: "survives kill -9" }]);
    expect(await instanceIds(url)).toEqual(ids);

    // The data dir is taken while `second` runs: a third process says so and exits non-zero.
    const third = start({ PGLITE_DIR: dataDir, DB_BRIDGE_PORT: "0" });
    const thirdExit = await third.exit;
    expect(thirdExit.code).toBe(1);
    expect(third.stderr()).toMatch(/in use by process \d+/);

    const stopped = Date.now();
    second.child.kill("SIGTERM");
    expect(await second.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopped).toBeLessThan(5_000);
    expect(second.stdout().match(/db-bridge ready/g)).toHaveLength(1);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });

  it("exits non-zero with a clear message when the port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const run = start({ PGLITE_DIR: join(dir, "port-taken"), DB_BRIDGE_PORT: String(port) });
      expect((await run.exit).code).toBe(1);
      expect(run.stderr()).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe.runIf(process.env.DATABASE_URL)("db bridge CLI (postgres)", () => {
  it("serves a DATABASE_URL and exits 0 on SIGTERM", async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL as string);
    try {
      const port = await freePort();
      const run = runCli({ DATABASE_URL: scratch.url, DB_BRIDGE_PORT: String(port), DB_BRIDGE_SECRET: "pg-secret" });
      await run.ready;
      const url = `postgres://tessera:pg-secret@127.0.0.1:${port}/tessera`;
      expect(run.stdout()).toContain("Postgres (DATABASE_URL)");
      expect(await instanceIds(url)).toHaveLength(1);
      run.child.kill("SIGTERM");
      expect(await run.exit).toEqual({ code: 0, signal: null });
    } finally {
      await scratch.drop();
    }
  });
});
