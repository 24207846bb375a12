// `npm run dev` as a user runs it: it comes up, reports the database, stops every child on SIGTERM,
// and finds the same data when started again.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertPortFree, freePort } from "../../dev/lib/processes";
import { ROOT } from "../../dev/lib/suite";
import { processesUsing } from "../support/processes";
import { createScratch, type Scratch } from "../support/scratch";

let scratch: Scratch;
beforeAll(async () => {
  scratch = await createScratch("tessera-dev-cmd");
});
afterAll(async () => {
  await scratch.cleanup();
});

interface Running {
  child: ChildProcess;
  output: string[];
  url: string;
  ports: number[];
}

async function startDev(): Promise<Running> {
  const port = await freePort();
  const bridgePort = await freePort();
  const inspectorPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DB_BRIDGE_PORT: String(bridgePort),
    INSPECTOR_PORT: String(inspectorPort),
    GPU_WORKER_PORT: String(await freePort()),
    TESSERA_DATA_DIR: scratch.dir,
    NO_COLOR: "1",
  };
  if (scratch.databaseUrl) env.DATABASE_URL = scratch.databaseUrl;
  else delete env.DATABASE_URL;
  // What `npm run dev` runs, without npm in between so the pid is the runner's.
  const child = spawn(process.execPath, ["--import", "tsx", "dev/run.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join("").includes("Tessera is up")) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`dev exited early (${code}):\n${output.join("")}`)));
  });
  await ready;
  return { child, output, url: `http://127.0.0.1:${port}`, ports: [port, bridgePort, inspectorPort] };
}

async function stopDev(running: Running): Promise<number | null> {
  const exit = new Promise<number | null>((resolve) => running.child.once("exit", (code) => resolve(code)));
  running.child.kill("SIGTERM");
  return exit;
}

async function instanceId(url: string): Promise<string> {
  const res = await fetch(`${url}/health`);
  const body = (await res.json()) as { checks: { database: { status: string; detail: { instanceId: string } } } };
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.checks.database.status).toBe("ok");
  return body.checks.database.detail.instanceId;
}

describe("npm run dev", () => {
  it("starts, stops every child on SIGTERM, and keeps the data across a restart", async () => {
    const first = await startDev();
    const id = await instanceId(first.url);
    expect(first.output.join("")).toContain(first.url);
    expect(processesUsing(scratch.dir).length).toBeGreaterThan(0);

    expect(await stopDev(first)).toBe(0);
    expect(processesUsing(scratch.dir)).toEqual([]);
    for (const port of first.ports) await assertPortFree(port, "after stop");

    const second = await startDev();
    try {
      expect(await instanceId(second.url)).toBe(id);
    } finally {
      expect(await stopDev(second)).toBe(0);
    }
    expect(processesUsing(scratch.dir)).toEqual([]);
  }, 240_000);
});
