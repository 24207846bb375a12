// Durable Objects' state outlives the objects: what a room and the job board held on one `wrangler dev` is there on
// another started afterwards on the same state directory. The whole runtime going away is eviction at its most
// thorough: nothing in memory survives, only the objects' SQLite storage.
// Its own suite (not the shared one), so it can be stopped; tokens are signed here, so no user is needed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevSuite } from "../../dev/lib/suite";
import { generateKeyPairSecrets, type KeyPairSecrets } from "../../src/lib/identity/keys";
import { call as callAt, signUp, startSuite as startSuiteIn } from "../support/client";
import { createScratch, type Scratch } from "../support/scratch";
import { Client, chats, joinOf } from "./hub-client";

let scratch: Scratch;
let secrets: KeyPairSecrets;
const output: string[] = [];

beforeAll(async () => {
  scratch = await createScratch("tessera-e2e-evict");
  secrets = await generateKeyPairSecrets("ES256");
});

afterAll(async () => {
  await scratch?.cleanup();
});

/** A suite on the same state directories each time (new ports: the old ones may linger in TIME_WAIT). */
async function startSuite(): Promise<DevSuite> {
  try {
    return await startSuiteIn(
      scratch,
      { ...secrets, LOG_LEVEL: "warn", GPU_WORKER_BOOTSTRAP_SECRET: workerSecret },
      (line) => output.push(line),
    );
  } catch (err) {
    console.error(output.slice(-40).join("\n"));
    throw err;
  }
}

/** Phase one runs on the first suite, the tests check on the second. */
let second: DevSuite;
let token: string;
let userId: string;
const room = "public:evict";
const workerSecret = `tgw_restart-${crypto.randomUUID()}`;
let runningJob: { id: string; leaseId: string };
let queuedJob: string;

const call = (suite: DevSuite, method: string, path: string, token: string, body?: unknown) =>
  callAt(suite.workerUrl, method, path, { token, body });

beforeAll(async () => {
  const first = await startSuite();
  // A real account: the hub checks the live session behind a token before every upgrade (docs/hub.md).
  const account = await signUp(first.workerUrl, "evicted");
  token = account.token;
  userId = account.id;
  try {
    const a = await Client.open(first.workerUrl, room, token);
    await a.until(joinOf(userId));
    for (const text of ["one", "two", "three"]) a.send({ type: "chat", data: { text } });
    await a.until((f) => f.seq === 3);
    await a.close();

    const submit = async (text: string) =>
      (await call(first, "POST", "/v1/jobs", token, { type: "speech", input: { text } })).body.id as string;
    const running = await submit("leased before the restart");
    queuedJob = await submit("queued before the restart");
    const leased = await call(first, "POST", "/v1/gpu/lease", workerSecret, { freeVramMiB: 80_000, max: 1 });
    const [lease] = leased.body.jobs as { jobId: string; leaseId: string }[];
    expect(lease?.jobId).toBe(running);
    runningJob = { id: running, leaseId: lease?.leaseId ?? "" };
  } finally {
    await first.stop();
  }
  second = await startSuite();
}, 240_000);

afterAll(async () => {
  await second?.stop();
});

describe("a room's history", () => {
  it("survives the runtime being stopped and started again: since=0 replays it, and seq goes on", async () => {
    const b = await Client.open(second.workerUrl, room, token, "?since=0");
    await b.until(joinOf(userId));
    b.send({ type: "chat", data: { text: "four" } });
    await b.until((f) => f.seq === 4);
    expect(chats(b).map((f) => [f.seq, (f.data as { text: string }).text, f.from?.id])).toEqual([
      [1, "one", userId],
      [2, "two", userId],
      [3, "three", userId],
      [4, "four", userId],
    ]);
    // The replay came before the join, the new message after it.
    const joinAt = b.frames.findIndex(joinOf(userId));
    expect(b.frames.findIndex((f) => f.seq === 3)).toBeLessThan(joinAt);
    expect(b.frames.findIndex((f) => f.seq === 4)).toBeGreaterThan(joinAt);
    await b.close();
  });
});

describe("the job board", () => {
  it("keeps a running job's lease and a queued job across the restart", async () => {
    expect((await call(second, "GET", `/v1/jobs/${runningJob.id}`, token)).body).toMatchObject({
      status: "running",
      attempts: 1,
    });
    expect((await call(second, "GET", `/v1/jobs/${queuedJob}`, token)).body).toMatchObject({ status: "queued" });
    // The worker carries on with the lease it was given before the restart.
    const beat = await call(second, "POST", `/v1/gpu/jobs/${runningJob.id}/heartbeat`, workerSecret, {
      leaseId: runningJob.leaseId,
      progress: 0.5,
    });
    expect(beat.status).toBe(200);
    const done = await call(second, "POST", `/v1/gpu/jobs/${runningJob.id}/complete`, workerSecret, {
      leaseId: runningJob.leaseId,
      result: { ok: true },
    });
    expect(done.body).toMatchObject({ status: "completed", attempts: 1 });
    const next = await call(second, "POST", "/v1/gpu/lease", workerSecret, { freeVramMiB: 80_000, max: 1 });
    expect((next.body.jobs as { jobId: string }[]).map((j) => j.jobId)).toEqual([queuedJob]);
  });
});
