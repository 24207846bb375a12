// Faults under a steady writer, against the real dev suite (bridge + `wrangler dev` + the GPU worker, supervised as
// `npm run dev` runs them): the bridge is killed and frozen (SIGSTOP), workerd is killed under a live wrangler, the
// GPU worker is killed and frozen under a steady stream of jobs. While a part is down the writer may only see 503
// `unavailable` in the one error shape with Retry-After (or, while the Worker itself is down, no answer at all);
// each fault heals without a hand; every acknowledged write is there after, and every accepted job completes.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/lib/processes";
import { type DevSuite, ROOT } from "../../dev/lib/suite";
import type { Supervised } from "../../dev/lib/supervise";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";
import { randomToken } from "../../src/lib/identity/tokens";
import { WORKER_SECRET_PREFIX } from "../../src/lib/jobs/protocol";
import { signUp, startSuite } from "../support/client";
import { processesUsing } from "../support/processes";
import { createScratch, type Scratch } from "../support/scratch";

const RECOVERY_MS = 180_000;

let scratch: Scratch;
let suite: DevSuite;
let token: string;
const lines: string[] = [];
/** The image classifier the GPU worker's hf-inference model asks (Hugging Face's protocol), answering at once. */
let classifier: Server;

/** A 1×1 PNG: the classifier above does not look at it. */
const PIXEL_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
).toString("base64");

async function startClassifier(): Promise<string> {
  classifier = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify([{ label: "pixel", score: 0.9 }]));
    });
  });
  await new Promise<void>((r) => classifier.listen(0, "127.0.0.1", () => r()));
  const address = classifier.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

/** Pids in the process group led by `leader` (the guard of one supervised child). */
function groupMembers(leader: number): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === leader) {
        found.push({ pid: Number(entry), cmdline: readFileSync(join("/proc", entry, "cmdline"), "utf8") });
      }
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** The process doing the work in a supervised child's group (not its guard): the one whose command line matches. */
function worker(s: Supervised, match: RegExp): number {
  const leader = s.current.child.pid as number;
  const hit = groupMembers(leader).find((p) => p.pid !== leader && match.test(p.cmdline));
  if (!hit) throw new Error(`no ${match} in ${s.name}'s group: ${JSON.stringify(groupMembers(leader))}`);
  return hit.pid;
}

const supervised = (name: string) => suite.supervised.find((s) => s.name === name) as Supervised;

interface Outcome {
  acknowledged: string[];
  refusals: { status: number; code?: string; retryAfter: string | null }[];
  noAnswer: number;
}

/** Writes memories one after another until stopped; keeps what was acknowledged and how every other try ended. */
function steadyWriter() {
  const outcome: Outcome = { acknowledged: [], refusals: [], noAnswer: 0 };
  let running = true;
  let lastOk = 0;
  let n = 0;
  const done = (async () => {
    while (running) {
      const content = `fault write ${n++} ${Date.now()}`;
      try {
        const res = await fetch(`${suite.workerUrl}/v1/memories`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "note", content, tags: ["faults"] }),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (res.status === 201) {
          outcome.acknowledged.push((JSON.parse(text) as { id: string }).id);
          lastOk = Date.now();
        } else recordRefusal(outcome, res, text);
      } catch {
        outcome.noAnswer++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    outcome,
    lastOk: () => lastOk,
    async stop() {
      running = false;
      await done;
      return outcome;
    },
  };
}

/** Waits (polling) until the writer has an acknowledged write newer than `since`. */
async function recovered(writer: ReturnType<typeof steadyWriter>, since: number): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS;
  while (writer.lastOk() <= since) {
    if (Date.now() > deadline)
      throw new Error(`no acknowledged write since the fault:\n${lines.slice(-30).join("\n")}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits (polling) until the supervisor has started `s` again since it had `before` restarts. */
async function restarted(s: Supervised, before: number): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS;
  while (s.restarts <= before) {
    if (Date.now() > deadline) throw new Error(`${s.name} was never restarted:\n${lines.slice(-30).join("\n")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An answer that is not an acknowledgement: its status, its error code (or why it is not JSON) and Retry-After. */
function recordRefusal(outcome: Outcome, res: Response, text: string): void {
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = `not JSON: ${text.slice(0, 80)}`;
  }
  outcome.refusals.push({ status: res.status, code, retryAfter: res.headers.get("retry-after") });
}

function expectOnlyUnavailable(outcome: Outcome): void {
  for (const refusal of outcome.refusals) {
    expect(refusal, JSON.stringify(refusal)).toMatchObject({ status: 503, code: "unavailable" });
    expect(Number(refusal.retryAfter), JSON.stringify(refusal)).toBeGreaterThan(0);
  }
}

beforeAll(async () => {
  scratch = await createScratch("tessera-faults");
  const gpuSecret = randomToken(WORKER_SECRET_PREFIX);
  const models = join(scratch.dir, "gpu-models.json");
  await writeFile(
    models,
    JSON.stringify({
      models: [
        {
          id: "vit-base-patch16-224",
          backend: "hf-inference",
          vramMiB: 0,
          options: { endpointUrl: await startClassifier(), model: "vit" },
        },
      ],
    }),
  );
  suite = await startSuite(
    scratch,
    {
      ...(await generateKeyPairSecrets("ES256")),
      RATE_LIMIT_IP_PER_MINUTE: "100000",
      RATE_LIMIT_USER_PER_MINUTE: "100000",
      GPU_WORKER_BOOTSTRAP_SECRET: gpuSecret,
      // A frozen worker's leases run out in seconds, so its jobs go to its replacement within the test.
      JOBS_LEASE_MS: "4000",
    },
    (line) => lines.push(line),
    {
      gpuWorker: {
        secret: gpuSecret,
        port: await freePort(),
        env: {
          GPU_WORKER_MODELS: models,
          GPU_WORKER_TYPES: "vision.classify",
          GPU_WORKER_LEASE_WAIT_MS: "0",
          GPU_WORKER_IDLE_POLL_MS: "50",
          GPU_WORKER_IDLE_POLL_MAX_MS: "200",
          LOG_LEVEL: "warn",
        },
      },
    },
  );
  token = (await signUp(suite.workerUrl, "faults")).token;
});

afterAll(async () => {
  await suite?.stop();
  classifier?.close();
  await scratch?.cleanup();
});

describe("faults under a steady writer", () => {
  it("the bridge killed (SIGKILL): only 503 unavailable while it is down, back without a hand", async () => {
    const writer = steadyWriter();
    await recovered(writer, 0);
    const bridge = supervised("db");
    const before = bridge.restarts;
    const at = Date.now();
    process.kill(worker(bridge, /db-bridge\.ts/), "SIGKILL");
    // A write in flight when the signal landed may still be acknowledged after `at`: recovery counts only once the
    // supervisor has started a new bridge.
    await restarted(bridge, before);
    await recovered(writer, Math.max(at, Date.now()) + 1);
    const outcome = await writer.stop();
    expect(bridge.restarts).toBeGreaterThan(before);
    expect(outcome.noAnswer).toBe(0);
    expectOnlyUnavailable(outcome);
    expect(outcome.refusals.length).toBeGreaterThan(0);
    await expectAllThere(outcome.acknowledged);
  });

  it("the bridge frozen (SIGSTOP): 503 unavailable, never a hang; the supervisor replaces it", async () => {
    const writer = steadyWriter();
    await recovered(writer, 0);
    const bridge = supervised("db");
    const before = bridge.restarts;
    const at = Date.now();
    process.kill(worker(bridge, /db-bridge\.ts/), "SIGSTOP");
    await restarted(bridge, before);
    await recovered(writer, Math.max(at, Date.now()) + 1);
    const outcome = await writer.stop();
    expect(bridge.restarts).toBeGreaterThan(before);
    expect(outcome.noAnswer).toBe(0);
    expectOnlyUnavailable(outcome);
    await expectAllThere(outcome.acknowledged);
  });

  it("workerd killed under a live wrangler: noticed and restarted; nothing acknowledged is lost", async () => {
    const writer = steadyWriter();
    await recovered(writer, 0);
    const wrangler = supervised("worker");
    const before = wrangler.restarts;
    const at = Date.now();
    for (const pid of groupMembers(wrangler.current.child.pid as number)) {
      if (/workerd/.test(pid.cmdline) && !/wrangler/.test(pid.cmdline)) process.kill(pid.pid, "SIGKILL");
    }
    await restarted(wrangler, before);
    await recovered(writer, Math.max(at, Date.now()) + 1);
    const outcome = await writer.stop();
    expect(wrangler.restarts).toBeGreaterThan(before);
    // While the Worker itself is down nobody can answer 503: connection errors are allowed, other answers are not
    // (wrangler's own plain-text 503 included).
    expectOnlyUnavailable(outcome);
    await expectAllThere(outcome.acknowledged);
  });
});

/** Submits a small GPU job every 200 ms until stopped: what was accepted (202), and how every other try ended. */
function steadyJobs() {
  const outcome: Outcome = { acknowledged: [], refusals: [], noAnswer: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const res = await fetch(`${suite.workerUrl}/v1/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "vision.classify", input: { base64: PIXEL_PNG, mediaType: "image/png" } }),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (res.status === 202) outcome.acknowledged.push((JSON.parse(text) as { id: string }).id);
        else recordRefusal(outcome, res, text);
      } catch {
        outcome.noAnswer++;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    outcome,
    async stop() {
      running = false;
      await done;
      return outcome;
    },
  };
}

interface JobView {
  status: string;
  attempts: number;
  result?: unknown;
}

async function jobView(id: string): Promise<JobView> {
  const res = await fetch(`${suite.workerUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return (await res.json()) as JobView;
}

/** Polls until every job has left queued/running (or the recovery time passes), and answers each one's last view. */
async function settled(ids: string[]): Promise<Map<string, JobView>> {
  const views = new Map<string, JobView>();
  const deadline = Date.now() + RECOVERY_MS;
  for (const id of ids) {
    for (;;) {
      const view = await jobView(id);
      views.set(id, view);
      if (!["queued", "running"].includes(view.status) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return views;
}

/** Waits until a job submitted now completes: the GPU side serves again. */
async function gpuServes(): Promise<void> {
  const res = await fetch(`${suite.workerUrl}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "vision.classify", input: { base64: PIXEL_PNG, mediaType: "image/png" } }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const view = (await settled([id])).get(id);
  expect(view?.status, `${JSON.stringify(view)}\n${lines.slice(-30).join("\n")}`).toBe("completed");
}

describe("GPU worker faults under a steady stream of jobs", () => {
  async function gpuFault(signal: "SIGKILL" | "SIGSTOP"): Promise<void> {
    await gpuServes();
    const gpu = supervised("gpu");
    const before = gpu.restarts;
    const jobs = steadyJobs();
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(worker(gpu, /gpu-worker\/main\.ts/), signal);
    // The supervisor notices (an exit, or a health probe that no longer answers) and starts another worker.
    await restarted(gpu, before);
    await gpuServes();
    const outcome = await jobs.stop();
    // The API never depended on the GPU worker: submissions kept being accepted, and anything else was a 503.
    expect(outcome.noAnswer).toBe(0);
    expectOnlyUnavailable(outcome);
    expect(outcome.acknowledged.length).toBeGreaterThan(0);
    // Nothing accepted is lost: every job completes, including those the dead or frozen worker held.
    const views = await settled(outcome.acknowledged);
    for (const [id, view] of views) {
      expect(view, id).toMatchObject({ status: "completed", result: { labels: [{ label: "pixel" }] } });
    }
  }

  it("the GPU worker killed (SIGKILL): jobs keep being accepted, it is restarted, every job completes", async () => {
    await gpuFault("SIGKILL");
  });

  it("the GPU worker frozen (SIGSTOP): its health probe fails, it is replaced, its leased jobs complete", async () => {
    await gpuFault("SIGSTOP");
  });
});

async function expectAllThere(ids: string[]): Promise<void> {
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) {
    const res = await fetch(`${suite.workerUrl}/v1/memories/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status, id).toBe(200);
    await res.body?.cancel();
  }
}

describe("the runner's children die with it", () => {
  /** `npm run dev` without npm between (GPU worker left out), leading its own process group as a terminal's job. */
  async function startRunner(dataDir: string) {
    const child = spawn(process.execPath, ["--import", "tsx", "dev/run.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(await freePort()),
        DB_BRIDGE_PORT: String(await freePort()),
        INSPECTOR_PORT: String(await freePort()),
        GPU_WORKER: "0",
        TESSERA_DATA_DIR: dataDir,
        DATABASE_URL: scratch.databaseUrl ?? "",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Tessera is up")) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`dev exited early (${code}):\n${output}`)));
    });
    return child;
  }

  async function noneLeft(marker: string): Promise<string[]> {
    const deadline = Date.now() + 60_000;
    let left = processesUsing(marker);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      left = processesUsing(marker);
    }
    return left;
  }

  it("a SIGKILL of the runner alone leaves no child behind", async () => {
    const dataDir = join(scratch.dir, "runner-kill");
    const runner = await startRunner(dataDir);
    expect(processesUsing(dataDir).length).toBeGreaterThan(1);
    runner.kill("SIGKILL");
    expect(await noneLeft(dataDir)).toEqual([]);
  });

  it("a SIGTERM to the runner's process group (a terminal, a container runtime) stops every child", async () => {
    const dataDir = join(scratch.dir, "group-term");
    const runner = await startRunner(dataDir);
    process.kill(-(runner.pid as number), "SIGTERM");
    expect(await noneLeft(dataDir)).toEqual([]);
  });
});
