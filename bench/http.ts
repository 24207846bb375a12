// `npm run bench:http`: Tessera's HTTP floor. In one run: a bare fetch handler served the same way (the
// runtime's floor), GET / and GET /health on the production runtime (the built bundle on workerd, see
// dev/start.ts), /health with its per-isolate cache off (every request touches the database, KV, R2, a
// Durable Object and the queue), then the database bridge's own query latency on PGlite and Postgres.
// Interleaved rounds, medians of 3. Knobs: BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS.
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../dev/db-bridge/server";
import { type BridgeLatency, measureBridgeLatency } from "./lib/bridge-latency";
import { beginBench, expectStatus, log, settings } from "./lib/common";
import {
  benchJson,
  formatTable,
  roundLine,
  runRounds,
  type Scenario,
  startFloor,
  startTessera,
  type Target,
} from "./lib/harness";

const { rounds: ROUNDS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, connections: CONNECTIONS } = settings;
/** /health uncached runs the five checks on every request: fewer connections, a shorter window. */
const UNCACHED = { connections: 8, durationMs: Math.min(DURATION_MS, 3000), warmupMs: Math.min(WARMUP_MS, 500) };
/** The whole bench must finish; a hung server must not hold a CI job. */
const HARD_LIMIT_MS = 240_000;

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

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const done = beginBench("bench:http", HARD_LIMIT_MS);

  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-"));
  const targets: Target[] = [];
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  const startup: Record<string, number> = {};
  try {
    let t = performance.now();
    bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
    startup.bridgeMs = performance.now() - t;

    t = performance.now();
    const floor = await startFloor("floor");
    targets.push(floor);
    startup.floorMs = performance.now() - t;

    t = performance.now();
    const common = { databaseUrl: bridge.url, outDir: join(tmp, "dist") };
    const tessera = await startTessera("tessera", { ...common, build: true, persistDir: join(tmp, "state-a") });
    targets.push(tessera);
    startup.tesseraBuildAndStartMs = performance.now() - t;
    const uncached = await startTessera("tessera (health cache off)", {
      ...common,
      build: false,
      persistDir: join(tmp, "state-b"),
      vars: { HEALTH_CACHE_SECONDS: "0" },
    });
    targets.push(uncached);
    log(
      `started: bridge (PGlite) ${Math.round(startup.bridgeMs)} ms, floor ${Math.round(startup.floorMs)} ms, ` +
        `Tessera build + start ${Math.round(startup.tesseraBuildAndStartMs)} ms; workerd pids ${targets.map((x) => x.pids.join("+")).join(", ")}`,
    );

    await expectStatus(floor, "/", 200);
    await expectStatus(tessera, "/", 200);
    await expectStatus(tessera, "/health", 200);
    await expectStatus(uncached, "/health", 200);

    const base = { connections: CONNECTIONS, durationMs: DURATION_MS, warmupMs: WARMUP_MS };
    const scenarios: Scenario[] = [
      { name: "floor: bare fetch handler", target: floor, path: "/", ...base },
      { name: "GET /", target: tessera, path: "/", ...base, baseline: "floor: bare fetch handler" },
      {
        name: "GET /health (cached 5 s)",
        target: tessera,
        path: "/health",
        ...base,
        baseline: "floor: bare fetch handler",
      },
      {
        name: "GET /health uncached",
        target: uncached,
        path: "/health",
        ...UNCACHED,
        baseline: "floor: bare fetch handler",
      },
    ];
    results = await runRounds(scenarios, { rounds: ROUNDS, onRound: (s, round, r) => log(roundLine(s, round, r)) });
  } finally {
    await Promise.allSettled(targets.map((x) => x.close()));
    await bridge?.close().catch(() => {});
  }

  log();
  log(formatTable(results));
  log();
  log("server µs/req: workerd CPU (user+system, /proc) per measured request; server cores: workerd CPU / wall time.");
  log("client µs/req: this Node process (load generator, and for /health uncached also the in-process DB bridge).");
  log("vs floor: req/s as a fraction of the bare handler's, and server CPU per request as a multiple of it.");

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
