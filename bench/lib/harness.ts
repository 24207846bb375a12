// The bench harness: start servers (the production runtime, or a bare Worker as the runtime's floor),
// run closed-loop HTTP load against them in interleaved rounds, and report medians with server CPU per
// request (workerd's utime+stime from /proc), the load generator's CPU, a human table and a BENCH_JSON line.
import { availableParallelism } from "node:os";
import { Miniflare } from "miniflare";
import { bareMiniflareOptions, wranglerWorker } from "../../dev/lib/miniflare-options";
import { type StartProductionOptions, startProduction } from "../../dev/start";
import { type LoadOptions, type LoadResult, runLoad } from "./load";
import { cpuMs, descendantPids, rssMiB } from "./proc";

export { clockTicks, cpuMs, descendantPids, rssMiB } from "./proc";

// ---------------------------------------------------------------------------------------------------
// Targets: a server and the workerd processes that serve it.

export interface Target {
  name: string;
  /** Base URL, ending in "/". */
  url: string;
  /** The workerd processes started for this target (CPU is read from these). */
  pids: number[];
  close(): Promise<void>;
}

/** Starts a server and identifies its workerd process(es) as the ones that appeared while it started. */
export async function startTarget(
  name: string,
  start: () => Promise<{ url: string; close(): Promise<void> }>,
): Promise<Target> {
  const before = new Set(descendantPids("workerd"));
  const server = await start();
  const pids = descendantPids("workerd").filter((pid) => !before.has(pid));
  if (pids.length === 0) {
    process.stderr.write(`bench: no new workerd process found for ${name}; server CPU will read 0\n`);
  }
  return { name, url: server.url, pids, close: () => server.close() };
}

/** The runtime's floor: a Worker that answers "ok", served exactly like the production bundle. */
export const FLOOR_SCRIPT = `export default { fetch() { return new Response("ok"); } };`;

/**
 * The ES256 floor: verifies the bearer token's signature with Web Crypto and a key imported once per isolate,
 * and nothing else (no claims, no framework): what a token check cannot get under on this runtime.
 */
export const ES256_FLOOR_SCRIPT = `
let key;
const b64 = (s) => Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (ch) => ch.charCodeAt(0));
const encoder = new TextEncoder();
export default {
  async fetch(request, env) {
    key ??= crypto.subtle.importKey("jwk", JSON.parse(env.PUBLIC_JWK), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const token = (request.headers.get("authorization") ?? "").slice(7);
    const dot = token.lastIndexOf(".");
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await key, b64(token.slice(dot + 1)), encoder.encode(token.slice(0, dot)));
    return new Response(ok ? "ok" : "bad", { status: ok ? 200 : 401 });
  },
};`;

/** The KV floor: reads one key from a KV namespace (Miniflare's local KV, as Tessera's) and streams it back. */
export const KV_FLOOR_SCRIPT = `
export default {
  async fetch(request, env) {
    const value = await env.KV.get("hot", "stream");
    return value ? new Response(value) : new Response("missing", { status: 404 });
  },
};`;

export interface FloorOptions {
  script?: string;
  bindings?: Record<string, string>;
  /** Values written to the KV namespace bound as KV before the floor serves. */
  kv?: Record<string, string>;
}

export function startFloor(name = "floor", floor: FloorOptions = {}): Promise<Target> {
  return startTarget(name, async () => {
    const { options, workerName, recent } = bareMiniflareOptions(floor.script ?? FLOOR_SCRIPT, {
      wrangler: await wranglerWorker(),
      logs: "ignore",
      workerName: "floor",
      ...(floor.bindings ? { bindings: floor.bindings } : {}),
      ...(floor.kv ? { kvNamespaces: ["KV"] } : {}),
    });
    const mf = new Miniflare(options);
    try {
      await mf.ready;
      if (floor.kv) {
        const kv = await mf.getKVNamespace("KV");
        for (const [k, v] of Object.entries(floor.kv)) await kv.put(k, v);
      }
      const url = await mf.unsafeGetDirectURL(workerName);
      return { url: url.href, close: () => mf.dispose() };
    } catch (err) {
      await mf.dispose().catch(() => {});
      throw new Error(`floor failed to start: ${String(err)}\n${recent.text()}`, { cause: err });
    }
  });
}

/** Tessera's production runtime (see dev/start.ts) on a free port, its console output dropped. */
export function startTessera(name: string, opts: StartProductionOptions = {}): Promise<Target> {
  return startTarget(name, () => startProduction({ port: 0, logs: "ignore", ...opts }));
}

// ---------------------------------------------------------------------------------------------------
// Scenarios, rounds and medians.

export interface Scenario {
  name: string;
  target: Target;
  path: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  load?: Partial<Pick<LoadOptions, "method" | "headers" | "body" | "timeoutMs" | "requests">>;
  /** Name of the scenario this one is compared with (the floor). */
  baseline?: string;
}

export interface RoundResult {
  load: LoadResult;
  rps: number;
  /** workerd CPU per measured request, µs. */
  serverCpuUsPerReq: number;
  /** workerd CPU over the window as a share of one core (1 = one core busy). */
  serverCores: number;
  /** This Node process (load generator, plus anything else in it such as an in-process bridge), µs/request. */
  clientCpuUsPerReq: number;
  clientCores: number;
  serverRssMiB: number;
}

export interface ScenarioResult {
  name: string;
  path: string;
  connections: number;
  durationMs: number;
  baseline?: string;
  rounds: RoundResult[];
  median: {
    rps: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    maxMs: number;
    errors: number;
    non2xx: number;
    serverCpuUsPerReq: number;
    serverCores: number;
    clientCpuUsPerReq: number;
    clientCores: number;
    serverRssMiB: number;
  };
  statuses: Record<string, number>;
  firstError?: string;
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function runRound(s: Scenario): Promise<RoundResult> {
  let serverStart = 0;
  let serverEnd = 0;
  const load = await runLoad({
    url: new URL(s.path, s.target.url).href,
    connections: s.connections,
    durationMs: s.durationMs,
    warmupMs: s.warmupMs,
    ...s.load,
    onMeasureStart: () => {
      serverStart = cpuMs(s.target.pids);
    },
    onMeasureEnd: () => {
      serverEnd = cpuMs(s.target.pids);
    },
  });
  const serverMs = serverEnd - serverStart;
  const n = Math.max(1, load.requests);
  return {
    load,
    rps: load.rps,
    serverCpuUsPerReq: (serverMs * 1000) / n,
    serverCores: load.durationMs > 0 ? serverMs / load.durationMs : 0,
    clientCpuUsPerReq: (load.clientCpuMs * 1000) / n,
    clientCores: load.durationMs > 0 ? load.clientCpuMs / load.durationMs : 0,
    serverRssMiB: rssMiB(s.target.pids),
  };
}

function aggregate(s: Scenario, rounds: RoundResult[]): ScenarioResult {
  const m = (f: (r: RoundResult) => number) => median(rounds.map(f));
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  for (const r of rounds) {
    for (const [k, v] of Object.entries(r.load.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    firstError ??= r.load.firstError;
  }
  return {
    name: s.name,
    path: s.path,
    connections: s.connections,
    durationMs: s.durationMs,
    ...(s.baseline ? { baseline: s.baseline } : {}),
    rounds,
    median: {
      rps: m((r) => r.rps),
      p50Ms: m((r) => r.load.latencyMs.p50),
      p95Ms: m((r) => r.load.latencyMs.p95),
      p99Ms: m((r) => r.load.latencyMs.p99),
      maxMs: m((r) => r.load.latencyMs.max),
      errors: m((r) => r.load.errors),
      non2xx: m((r) => r.load.non2xx),
      serverCpuUsPerReq: m((r) => r.serverCpuUsPerReq),
      serverCores: m((r) => r.serverCores),
      clientCpuUsPerReq: m((r) => r.clientCpuUsPerReq),
      clientCores: m((r) => r.clientCores),
      serverRssMiB: m((r) => r.serverRssMiB),
    },
    statuses,
    ...(firstError ? { firstError } : {}),
  };
}

/**
 * Runs every scenario `rounds` times, interleaved (round 1 of each, then round 2 of each, …) so that drift
 * on a shared machine hits all of them alike, and returns per-scenario medians (each metric separately).
 */
export async function runRounds(
  scenarios: Scenario[],
  opts: { rounds?: number; onRound?: (s: Scenario, round: number, r: RoundResult) => void } = {},
): Promise<ScenarioResult[]> {
  const rounds = opts.rounds ?? 3;
  const collected = new Map<Scenario, RoundResult[]>(scenarios.map((s) => [s, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const s of scenarios) {
      const r = await runRound(s);
      collected.get(s)?.push(r);
      opts.onRound?.(s, round, r);
    }
  }
  return scenarios.map((s) => aggregate(s, collected.get(s) ?? []));
}

// ---------------------------------------------------------------------------------------------------
// Output.

const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : "-");

export function roundLine(s: Scenario, round: number, r: RoundResult): string {
  return (
    `  ${s.name} #${round}: ${fmt(r.rps)} req/s, p50 ${fmt(r.load.latencyMs.p50, 2)} ms, ` +
    `p99 ${fmt(r.load.latencyMs.p99, 2)} ms, server ${fmt(r.serverCpuUsPerReq)} µs/req, ` +
    `client ${fmt(r.clientCpuUsPerReq)} µs/req, errors ${r.load.errors}, non-2xx ${r.load.non2xx}`
  );
}

export function formatTable(results: ScenarioResult[]): string {
  const byName = new Map(results.map((r) => [r.name, r]));
  const header = [
    "scenario",
    "conns",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "non-2xx",
    "server µs/req",
    "client µs/req",
    "server cores",
    "RSS MiB",
    "vs floor req/s",
    "vs floor CPU",
  ];
  const rows = results.map((r) => {
    const base = r.baseline ? byName.get(r.baseline) : undefined;
    const m = r.median;
    return [
      r.name,
      String(r.connections),
      fmt(m.rps),
      fmt(m.p50Ms, 2),
      fmt(m.p95Ms, 2),
      fmt(m.p99Ms, 2),
      fmt(m.errors),
      fmt(m.non2xx),
      fmt(m.serverCpuUsPerReq),
      fmt(m.clientCpuUsPerReq),
      fmt(m.serverCores, 2),
      fmt(m.serverRssMiB),
      base ? `${fmt(m.rps / base.median.rps, 2)}×` : "",
      base ? `${fmt(m.serverCpuUsPerReq / base.median.serverCpuUsPerReq, 1)}×` : "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The machine-readable result: one line, `BENCH_JSON {...}`, last in the output. */
export function benchJson(bench: string, results: ScenarioResult[], extra: Record<string, unknown> = {}): string {
  return `BENCH_JSON ${JSON.stringify({
    bench,
    at: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    scenarios: results.map(({ rounds, ...rest }) => ({
      ...rest,
      rounds: rounds.map((r) => ({
        rps: r.rps,
        latencyMs: r.load.latencyMs,
        requests: r.load.requests,
        errors: r.load.errors,
        non2xx: r.load.non2xx,
        serverCpuUsPerReq: r.serverCpuUsPerReq,
        clientCpuUsPerReq: r.clientCpuUsPerReq,
      })),
    })),
    ...extra,
  })}`;
}
