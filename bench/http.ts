// `npm run bench:http`: Tessera's HTTP floor. In one run: three bare Workers served the same way (the runtime's
// floor; an ES256 signature check with a key imported once; one KV read), Tessera's fixed-cost routes on the
// production runtime (the built bundle on workerd, see dev/start.ts) with LOG_LEVEL=info as in production: GET /,
// GET /health, /api/auth/verify, /v1/auth/me, a KV read, the gateway proxy to a trivial upstream; /health with its
// per-isolate cache off (every request touches the database, KV, R2, a Durable Object and the queue), then the
// database bridge's own query latency on PGlite and Postgres. With wrk installed, each GET scenario is also run
// under `wrk -t2` once the rounds are done, beside the built-in generator's figures.
// Interleaved rounds, medians of 3. Knobs: BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS,
// BENCH_ONLY (a regular expression over scenario names), BENCH_WRK (0 skips wrk), BENCH_BASELINE_DIST (a bundle
// built from another commit, `wrangler deploy --dry-run --outdir DIR`: its routes run as "before: …" in the same run).
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../dev/db-bridge/server";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import { type BridgeLatency, measureBridgeLatency } from "./lib/bridge-latency";
import { beginBench, expectStatus, log, registerBenchUser, settings, UNLIMITED_VARS } from "./lib/common";
import {
  benchJson,
  ES256_FLOOR_SCRIPT,
  formatTable,
  KV_FLOOR_SCRIPT,
  roundLine,
  runRounds,
  type Scenario,
  startFloor,
  startTessera,
  type Target,
} from "./lib/harness";
import { startUpstream } from "./lib/upstream";
import { runWrk, type WrkResult, wrkAvailable } from "./lib/wrk";

const { rounds: ROUNDS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, connections: CONNECTIONS } = settings;
/** /health uncached runs the five checks on every request: fewer connections, a shorter window. */
const UNCACHED = { connections: 8, durationMs: Math.min(DURATION_MS, 3000), warmupMs: Math.min(WARMUP_MS, 500) };
/** The whole bench must finish; a hung server must not hold a CI job. */
const HARD_LIMIT_MS = 900_000;
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const FLOOR = "floor: bare fetch handler";
const ES256_FLOOR = "floor: bare ES256 verify";
const KV_FLOOR = "floor: bare KV read";
/** The KV value both the floor and Tessera read: 1 KiB of JSON. */
const KV_VALUE = JSON.stringify({ data: "v".repeat(1000) });

function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || "127.0.0.1", port: Number(port || 5432) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function bridgeLatencies(): Promise<{ results: BridgeLatency[]; notes: string[] }> {
  const notes: string[] = [];
  const results: BridgeLatency[] = [];
  try {
    results.push(await measureBridgeLatency({}));
  } catch (err) {
    notes.push(`bridge latency on PGlite failed: ${String(err)}`);
  }
  const pgUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  if (await answers(pgUrl)) {
    try {
      results.push(await measureBridgeLatency({ databaseUrl: pgUrl }));
    } catch (err) {
      notes.push(`bridge latency on Postgres (${new URL(pgUrl).host}) failed: ${String(err)}`);
    }
  } else {
    notes.push(`bridge latency on Postgres skipped: nothing answers at ${new URL(pgUrl).host}`);
  }
  return { results, notes };
}

/** Registers a user, stores the KV value, and returns the bearer header; every later request reuses the token. */
async function prepare(tessera: Target, auth?: Record<string, string>): Promise<Record<string, string>> {
  let headers = auth;
  if (!headers) {
    headers = { authorization: `Bearer ${(await registerBenchUser(tessera, "benchhttp")).accessToken}` };
  }
  const put = await fetch(new URL("/v1/memory/bench/hot", tessera.url), {
    method: "PUT",
    headers: { ...headers, "content-type": "application/json" },
    body: KV_VALUE,
  });
  if (!put.ok) throw new Error(`KV PUT answered ${put.status}: ${await put.text()}`);
  return headers;
}

/** Tessera's fixed-cost routes on one instance, each against its floor. */
function tesseraScenarios(
  prefix: string,
  tessera: Target,
  auth: Record<string, string>,
  base: Omit<Scenario, "name" | "target" | "path">,
): Scenario[] {
  const withAuth = { ...base, load: { headers: auth } };
  return [
    { name: `${prefix}GET /`, target: tessera, path: "/", ...base, baseline: FLOOR },
    { name: `${prefix}GET /health (cached 5 s)`, target: tessera, path: "/health", ...base, baseline: FLOOR },
    {
      // A session route since the legacy adapter answers the live user row: one statement, like /v1/auth/me.
      name: `${prefix}GET /api/auth/verify (1 query)`,
      target: tessera,
      path: "/api/auth/verify",
      ...withAuth,
      baseline: ES256_FLOOR,
    },
    {
      name: `${prefix}GET /v1/auth/me (1 query)`,
      target: tessera,
      path: "/v1/auth/me",
      ...withAuth,
      baseline: ES256_FLOOR,
    },
    {
      name: `${prefix}KV GET /v1/memory/bench/hot`,
      target: tessera,
      path: "/v1/memory/bench/hot",
      ...withAuth,
      baseline: KV_FLOOR,
    },
    {
      name: `${prefix}gateway proxy GET /api/assistant/echo`,
      target: tessera,
      path: "/api/assistant/echo",
      ...base,
      baseline: FLOOR,
    },
  ];
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const done = beginBench("bench:http", HARD_LIMIT_MS);

  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-"));
  const targets: Target[] = [];
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  const wrk: Record<string, WrkResult> = {};
  const startup: Record<string, number> = {};
  try {
    let t = performance.now();
    bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
    startup.bridgeMs = performance.now() - t;

    const keys = await generateKeyPairSecrets("ES256");
    const publicJwk = JSON.stringify((JSON.parse(keys.JWT_PUBLIC_KEYS) as { keys: unknown[] }).keys[0]);
    t = performance.now();
    const floor = await startFloor("floor");
    const es256Floor = await startFloor("ES256 floor", {
      script: ES256_FLOOR_SCRIPT,
      bindings: { PUBLIC_JWK: publicJwk },
    });
    const kvFloor = await startFloor("KV floor", { script: KV_FLOOR_SCRIPT, kv: { hot: KV_VALUE } });
    targets.push(floor, es256Floor, kvFloor);
    startup.floorMs = performance.now() - t;
    const upstream = await startUpstream();
    targets.push(upstream);

    t = performance.now();
    // Production's LOG_LEVEL; limits raised so the bench measures the work (the limiter still runs).
    const vars = {
      ...keys,
      ...UNLIMITED_VARS,
      LOG_LEVEL: "info",
      GATEWAY_ROUTES: JSON.stringify({
        "/api/assistant": { upstream: upstream.url.replace(/\/$/, ""), auth: "public" },
      }),
    };
    const common = { databaseUrl: bridge.url, vars };
    const tessera = await startTessera("tessera", {
      ...common,
      outDir: join(tmp, "dist"),
      build: true,
      persistDir: join(tmp, "state-a"),
    });
    targets.push(tessera);
    startup.tesseraBuildAndStartMs = performance.now() - t;
    const uncached = await startTessera("tessera (health cache off)", {
      ...common,
      outDir: join(tmp, "dist"),
      build: false,
      persistDir: join(tmp, "state-b"),
      vars: { ...vars, HEALTH_CACHE_SECONDS: "0" },
    });
    targets.push(uncached);
    const baselineDist = process.env.BENCH_BASELINE_DIST;
    const before = baselineDist
      ? await startTessera("before", {
          ...common,
          outDir: baselineDist,
          build: false,
          persistDir: join(tmp, "state-c"),
        })
      : undefined;
    if (before) targets.push(before);
    log(
      `started: bridge (PGlite) ${Math.round(startup.bridgeMs)} ms, floors ${Math.round(startup.floorMs)} ms, ` +
        `Tessera build + start ${Math.round(startup.tesseraBuildAndStartMs)} ms; pids ${targets.map((x) => `${x.name} ${x.pids.join("+")}`).join(", ")}`,
    );

    const auth = await prepare(tessera);
    if (before) await prepare(before, auth);
    await expectStatus(floor, "/", 200);
    await expectStatus(es256Floor, "/", 200, { headers: auth });
    await expectStatus(kvFloor, "/", 200);
    await expectStatus(tessera, "/health", 200);
    await expectStatus(uncached, "/health", 200);
    await expectStatus(tessera, "/api/assistant/echo", 200);

    const base = { connections: CONNECTIONS, durationMs: DURATION_MS, warmupMs: WARMUP_MS };
    const scenarios: Scenario[] = [
      { name: FLOOR, target: floor, path: "/", ...base },
      { name: ES256_FLOOR, target: es256Floor, path: "/", ...base, load: { headers: auth }, baseline: FLOOR },
      { name: KV_FLOOR, target: kvFloor, path: "/", ...base, baseline: FLOOR },
      ...tesseraScenarios("", tessera, auth, base),
      ...(before ? tesseraScenarios("before: ", before, auth, base) : []),
      { name: "GET /health uncached", target: uncached, path: "/health", ...UNCACHED, baseline: FLOOR },
    ].filter((s) => !ONLY || ONLY.test(s.name) || s.name.startsWith("floor"));
    results = await runRounds(scenarios, { rounds: ROUNDS, onRound: (s, round, r) => log(roundLine(s, round, r)) });
    if (process.env.BENCH_WRK !== "0" && wrkAvailable()) {
      for (const s of scenarios) {
        if (s.connections < CONNECTIONS) continue;
        const r = await runWrk(s);
        if (r) {
          wrk[s.name] = r;
          log(
            `  wrk ${s.name}: ${Math.round(r.rps)} req/s, server ${Math.round(r.serverCpuUsPerReq)} µs/req, non-2xx ${r.non2xx}`,
          );
        }
      }
    }
  } finally {
    await Promise.allSettled(targets.map((x) => x.close()));
    await bridge?.close().catch(() => {});
  }

  log();
  log(formatTable(results));
  log();
  log("server µs/req: workerd CPU (user+system, /proc) per measured request; server cores: workerd CPU / wall time.");
  log("client µs/req: this Node process (load generator, and for /health uncached also the in-process DB bridge).");
  log("vs floor: req/s as a fraction of the baseline floor's, and server CPU per request as a multiple of it.");
  const byName = new Map(results.map((r) => [r.name, r]));
  if (Object.keys(wrk).length > 0) {
    log();
    log("| scenario | generator req/s | wrk req/s | generator µs/req | wrk µs/req | wrk vs floor CPU |");
    log("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const [name, w] of Object.entries(wrk)) {
      const g = byName.get(name);
      const floorName = g?.baseline;
      const wf = floorName ? wrk[floorName] : undefined;
      log(
        `| ${name} | ${Math.round(g?.median.rps ?? Number.NaN)} | ${Math.round(w.rps)} | ${Math.round(g?.median.serverCpuUsPerReq ?? Number.NaN)} | ` +
          `${Math.round(w.serverCpuUsPerReq)} | ${wf ? `${(w.serverCpuUsPerReq / wf.serverCpuUsPerReq).toFixed(2)}×` : ""} |`,
      );
    }
  }

  log();
  log("database bridge, query latency (bench/lib/bridge-latency.ts):");
  const bridgeRun = await bridgeLatencies();
  for (const b of bridgeRun.results) {
    log(
      `  ${b.backend} (${b.target}): one at a time p50 ${b.p50Ms.toFixed(2)} ms, p99 ${b.p99Ms.toFixed(2)} ms; ` +
        `${Math.round(b.qps)} queries/s with ${b.concurrency} in flight; bridge start ${Math.round(b.startMs)} ms`,
    );
  }
  for (const note of bridgeRun.notes) log(`  ${note}`);

  await rm(tmp, { recursive: true, force: true });
  const totalMs = performance.now() - benchStarted;
  log();
  log(`bench:http took ${(totalMs / 1000).toFixed(1)} s`);
  log(
    benchJson("http", results, {
      startupMs: startup,
      wrk,
      bridgeLatency: bridgeRun.results,
      notes: bridgeRun.notes,
      totalMs,
    }),
  );
  done();
}

main().catch((err) => {
  process.stderr.write(`bench:http failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
