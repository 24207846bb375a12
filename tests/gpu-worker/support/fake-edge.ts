// A scripted edge that speaks the worker protocol (docs/jobs.md), recording every call, for lease-loop tests.
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import type { JobLease } from "../../../src/lib/jobs/protocol";

export interface EdgeCall {
  method: string;
  path: string;
  auth?: string;
  body?: unknown;
  contentType?: string;
  bytes?: number;
}

export interface FakeEdge {
  url: string;
  calls: EdgeCall[];
  /** Jobs the next lease calls hand out (up to each call's max). */
  queue: JobLease[];
  inputs: Map<string, Uint8Array>;
  cancel: Set<string>;
  lostLeases: Set<string>;
  /** Status for the next lease call(s), e.g. 429. */
  leaseStatus: number[];
  finished(jobId: string): EdgeCall | undefined;
  close(): Promise<void>;
}

export const SECRET = `tgw_${"x".repeat(40)}`;

export function lease(jobId: string, extra: Partial<JobLease> = {}): JobLease {
  return {
    jobId,
    leaseId: `lease-${jobId}`,
    leaseDeadline: Date.now() + 60_000,
    attempt: 1,
    type: "speech",
    model: "espeak-ng",
    input: { text: "hello" },
    options: {},
    ...extra,
  };
}

export async function startFakeEdge(): Promise<FakeEdge> {
  const calls: EdgeCall[] = [];
  const edge = {
    queue: [] as JobLease[],
    inputs: new Map<string, Uint8Array>(),
    cancel: new Set<string>(),
    lostLeases: new Set<string>(),
    leaseStatus: [] as number[],
  };
  const app = new Hono();
  const record = async (c: Context, parse: "json" | "bytes" | "none") => {
    const req = c.req;
    const call: EdgeCall = { method: req.method, path: req.path, auth: req.header("authorization") };
    if (parse === "json") call.body = await req.json();
    if (parse === "bytes") {
      call.bytes = (await req.arrayBuffer()).byteLength;
      call.contentType = req.header("content-type");
    }
    calls.push(call);
    return call;
  };
  app.post("/v1/gpu/lease", async (c) => {
    const call = await record(c, "json");
    const status = edge.leaseStatus.shift();
    if (status)
      return c.json({ error: { code: "rate_limited", message: "slow down" } }, status as 429, { "retry-after": "1" });
    const max = (call.body as { max: number }).max;
    return c.json({ jobs: edge.queue.splice(0, max) });
  });
  app.get("/v1/gpu/jobs/:id/input", async (c) => {
    await record(c, "none");
    const bytes = edge.inputs.get(c.req.param("id"));
    return bytes ? c.body(bytes.slice().buffer as ArrayBuffer) : c.json({ error: { code: "not_found" } }, 404);
  });
  app.get("/signed/:id", async (c) => {
    await record(c, "none");
    const bytes = edge.inputs.get(c.req.param("id"));
    return bytes ? c.body(bytes.slice().buffer as ArrayBuffer) : c.json({}, 404);
  });
  app.post("/v1/gpu/jobs/:id/heartbeat", async (c) => {
    await record(c, "json");
    const id = c.req.param("id");
    if (edge.lostLeases.has(id)) return c.json({ error: { code: "conflict" } }, 409);
    return c.json({ leaseDeadline: Date.now() + 60_000, cancel: edge.cancel.has(id) });
  });
  app.post("/v1/gpu/jobs/:id/output", async (c) => {
    await record(c, "json");
    const id = c.req.param("id");
    if (edge.lostLeases.has(id)) return c.json({ error: { code: "conflict" } }, 409);
    return c.json({ cancel: edge.cancel.has(id) });
  });
  app.put("/v1/gpu/jobs/:id/artifacts/:name", async (c) => {
    await record(c, "bytes");
    return c.json({ ok: true });
  });
  app.post("/v1/gpu/jobs/:id/complete", async (c) => {
    await record(c, "json");
    return c.json({ ok: true });
  });
  app.post("/v1/gpu/jobs/:id/fail", async (c) => {
    await record(c, "json");
    return c.json({ ok: true });
  });
  app.post("/v1/gpu/jobs/:id/release", async (c) => {
    await record(c, "json");
    return c.json({ ok: true });
  });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) =>
      resolve({ server, port: info.port }),
    );
  });
  return Object.assign(edge, {
    url: `http://127.0.0.1:${port}`,
    calls,
    finished: (jobId: string) =>
      calls.find((c) => ["complete", "fail", "release"].some((end) => c.path === `/v1/gpu/jobs/${jobId}/${end}`)),
    close: () => new Promise<void>((done) => server.close(() => done())),
  });
}
