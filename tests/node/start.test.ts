// The production runtime (dev/start.ts): the built bundle on workerd with every binding, a real bridge for
// the database, state that survives a restart, and nothing left running after close() or a signal.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { descendantPids, isAlive } from "../../bench/lib/proc";
import { type Bridge, startBridge } from "../../dev/db-bridge/server";
import { freePort } from "../../dev/lib/processes";
import { type ProductionServer, startProduction } from "../../dev/start";
import { call } from "../support/client";

const ROOT = resolve(import.meta.dirname, "../..");

interface Health {
  status: string;
  checks: Record<string, { status: string; detail?: Record<string, unknown>; error?: string }>;
}

const getJson = <T>(url: string) => call<T>(url, "GET", "");

/** Starts the runtime and names the workerd process(es) it added. */
async function startWithPids(opts: Parameters<typeof startProduction>[0]) {
  const before = new Set(descendantPids("workerd"));
  const server = await startProduction(opts);
  const pids = descendantPids("workerd").filter((pid) => !before.has(pid));
  return { server, pids };
}

function jobBoardFiles(persistDir: string): string[] {
  const dir = join(persistDir, "do", "tessera-JobBoard");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
}

describe("startProduction", () => {
  let tmp: string;
  let bridge: Bridge;
  let persistDir: string;
  let outDir: string;
  let server: ProductionServer | undefined;
  let pids: number[] = [];
  /** What the Worker wrote to its console (workerd's stdout and stderr). */
  const workerLines: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "tessera-start-"));
    persistDir = join(tmp, "state");
    outDir = join(tmp, "dist");
    bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
    ({ server, pids } = await startWithPids({
      port: 0,
      databaseUrl: bridge.url,
      persistDir,
      outDir,
      build: true,
      logs: (line) => workerLines.push(line),
    }));
  });

  afterAll(async () => {
    await server?.close();
    await bridge?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("serves the built bundle from workerd on loopback", async () => {
    expect(server?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(existsSync(join(outDir, "index.js"))).toBe(true);
    expect(pids.length).toBe(1);
    const { status, body } = await getJson<Record<string, unknown>>(server?.url ?? "");
    expect(status).toBe(200);
    expect(body).toMatchObject({ service: "tessera", status: "running" });
    expect(typeof body.version).toBe("string");
  });

  it("answers /health with every check ok, the database through the bridge", async () => {
    const { status, body } = await getJson<Health>(new URL("/health", server?.url).href);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.checks.database?.status).toBe("ok");
    expect(body.checks.database?.detail?.instanceId).toEqual(expect.any(String));
    for (const [name, check] of Object.entries(body.checks)) {
      expect(check.status, `${name}: ${check.error ?? ""}`).toBe("ok");
    }
    expect(Object.keys(body.checks)).toEqual(
      expect.arrayContaining(["database", "kv", "r2", "durableObject", "queue"]),
    );
  });

  it("keys per-address limits by the peer, whatever CF-Connecting-IP a client sends", async () => {
    // Ten bad logins from this machine, each claiming another address: one bucket (loginPerIp: 10), so the
    // eleventh is refused. Were the header trusted here, each claim would open a fresh bucket.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await fetch(new URL("/v1/auth/login", server?.url), {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": `203.0.113.${i + 1}` },
        body: JSON.stringify({ username: `nobody-${i}-${Date.now()}`, password: "not the password" }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  it("runs the GPU_JOBS queue consumer", async () => {
    if (!server) throw new Error("not started");
    // The consumer drops (and logs) a message that fails the protocol schema: proof that it was delivered.
    const queue = await server.miniflare.getQueueProducer("GPU_JOBS");
    await queue.send({ kind: "not-a-kind", marker: "start-test" });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !workerLines.some((l) => l.includes("dropping invalid queue message"))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(workerLines.join("\n")).toContain("dropping invalid queue message");
  });

  it("keeps KV, R2, Durable Object and database state across a restart with the same persist dir", async () => {
    if (!server) throw new Error("not started");
    // No route writes KV or R2 yet, so they are written through Miniflare's handles on the same stores the
    // Worker's bindings use; /health has already made the JobBoard Durable Object create its SQLite file.
    const kv = await server.miniflare.getKVNamespace("MEMORY");
    await kv.put("start-test", "kept");
    const r2 = await server.miniflare.getR2Bucket("FILES");
    await r2.put("start-test.txt", "kept in r2");
    const first = await getJson<Health>(new URL("/health", server.url).href);
    const instanceId = first.body.checks.database?.detail?.instanceId;
    const doFiles = jobBoardFiles(persistDir);
    expect(doFiles.length).toBe(1);
    expect(existsSync(join(persistDir, "kv"))).toBe(true);
    expect(existsSync(join(persistDir, "r2"))).toBe(true);

    await server.close();
    for (const pid of pids) expect(isAlive(pid), `workerd ${pid} after close()`).toBe(false);

    // build: false serves the bundle already in outDir, as `npm run start` does after its build.
    ({ server, pids } = await startWithPids({
      port: 0,
      databaseUrl: bridge.url,
      persistDir,
      outDir,
      build: false,
      logs: "ignore",
    }));
    expect(await (await server.miniflare.getKVNamespace("MEMORY")).get("start-test")).toBe("kept");
    const object = await (await server.miniflare.getR2Bucket("FILES")).get("start-test.txt");
    expect(await object?.text()).toBe("kept in r2");
    const second = await getJson<Health>(new URL("/health", server.url).href);
    expect(second.status).toBe(200);
    expect(second.body.checks.durableObject?.status).toBe("ok");
    expect(second.body.checks.database?.detail?.instanceId).toBe(instanceId);
    // The same Durable Object, reopened from its file rather than created afresh.
    expect(jobBoardFiles(persistDir)).toEqual(doFiles);
  });

  it("close() leaves no workerd process behind", async () => {
    if (!server) throw new Error("not started");
    expect(pids.length).toBe(1);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    await server.close();
    server = undefined;
    for (const pid of pids) expect(isAlive(pid), `workerd ${pid}`).toBe(false);
  });
});

describe("npm run start (dev/start-host.mjs)", () => {
  let tmp: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "tessera-start-cli-"));
  });

  afterAll(async () => {
    if (child?.pid && child.exitCode === null) child.kill("SIGKILL");
    await rm(tmp, { recursive: true, force: true });
  });

  it("prints its URL when ready, serves, and stops on SIGTERM leaving nothing running", async () => {
    const port = await freePort();
    const bridgePort = await freePort();
    const before = new Set(descendantPids("workerd"));
    // The default path: its own bridge on PGlite (kept in the temp dir), not CI's Postgres.
    const { DATABASE_URL: _ignored, TESSERA_DATABASE_URL: _alsoIgnored, ...env } = process.env;
    // What `npm run start` runs, without npm: the host bundled from dev/start.ts, no TypeScript loader.
    child = spawn(process.execPath, ["--expose-gc", "--optimize-for-size", "dev/start-host.mjs"], {
      cwd: ROOT,
      env: {
        ...env,
        PORT: String(port),
        DB_BRIDGE_PORT: String(bridgePort),
        PGLITE_DIR: join(tmp, "pglite"),
        MINIFLARE_DIR: join(tmp, "state"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const ready = new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready after 150 s:\n${output.join("\n")}`)), 150_000);
      for (const stream of [child?.stdout, child?.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream }).on("line", (line) => {
          output.push(line);
          const match = line.match(/tessera ready on (http:\/\/127\.0\.0\.1:\d+)/);
          if (match?.[1]) {
            clearTimeout(timer);
            resolvePromise(match[1]);
          }
        });
      }
      child?.once("exit", (code) => reject(new Error(`exited with ${code} before ready:\n${output.join("\n")}`)));
    });
    const url = await ready;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const health = await getJson<Health>(`${url}/health`);
    expect(health.status, JSON.stringify(health.body)).toBe(200);
    expect(health.body.checks.database?.status).toBe("ok");
    const workerd = descendantPids("workerd").filter((pid) => !before.has(pid));
    expect(workerd.length).toBe(1);

    const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output.join("\n")).toContain(`127.0.0.1:${bridgePort}`);
    for (const pid of workerd) expect(isAlive(pid), `workerd ${pid}`).toBe(false);
    await expect(fetch(`${url}/`)).rejects.toThrow();
    // The bridge closed with it: its port is free again.
    await expect(fetch(`http://127.0.0.1:${bridgePort}/health`)).rejects.toThrow();
  });
});
