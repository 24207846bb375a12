// Query latency through the dev database bridge, as the Worker sees it: the real
// @neondatabase/serverless `neon()` HTTP driver against a bridge started here, first one query at a
// time (latency), then several in flight (throughput). PGlite runs one statement at a time whatever
// the concurrency; Postgres can overlap them.
import { neon } from "@neondatabase/serverless";
import type { BackendKind } from "../../dev/db-bridge/backend";
import { type Bridge, startBridge } from "../../dev/db-bridge/server";
import { configureNeonForBridge, startThrowawayBridge } from "../../dev/db-bridge/throwaway";

export interface LatencyPhase {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  qps: number;
}

export interface BridgeLatency {
  backend: BackendKind;
  /** Sequential latency: one query in flight. */
  p50Ms: number;
  p99Ms: number;
  /** Throughput with `concurrency` queries in flight. */
  qps: number;
  concurrency: number;
  sequential: LatencyPhase;
  concurrent: LatencyPhase;
  /** Bridge start-up, migrations included (PGlite: a fresh data dir, so initdb too). */
  startMs: number;
  /** For Postgres: a scratch database on the given server, or the given database when it could not be created. */
  target: string;
}

const WARMUP_QUERIES = 20;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

function phase(latencies: number[], wallMs: number): LatencyPhase {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    queries: latencies.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    qps: wallMs > 0 ? (latencies.length * 1000) / wallMs : 0,
  };
}

/** Starts a bridge on throwaway storage: a temp PGlite dir, or a scratch database on the given server. */
async function startFor(
  databaseUrl: string | undefined,
): Promise<{ bridge: Bridge; target: string; dispose(): Promise<void> }> {
  if (!databaseUrl) {
    const tb = await startThrowawayBridge("pglite");
    return { bridge: tb.bridge, target: "temp PGlite dir", dispose: () => tb.dispose() };
  }
  const host = new URL(databaseUrl).host;
  try {
    const tb = await startThrowawayBridge("postgres", { serverUrl: databaseUrl });
    return { bridge: tb.bridge, target: `scratch database on ${host}`, dispose: () => tb.dispose() };
  } catch {
    // No CREATE DATABASE right: use the database as given (the bridge applies migrations to it).
    const bridge = await startBridge({ port: 0, databaseUrl });
    return {
      bridge,
      target: `database ${new URL(databaseUrl).pathname.slice(1)} on ${host}`,
      dispose: () => bridge.close(),
    };
  }
}

export async function measureBridgeLatency(
  opts: { databaseUrl?: string; queries?: number; concurrency?: number } = {},
): Promise<BridgeLatency> {
  const queries = Math.max(10, opts.queries ?? 1000);
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  configureNeonForBridge();
  const started = performance.now();
  const { bridge, target, dispose } = await startFor(opts.databaseUrl);
  const startMs = performance.now() - started;
  try {
    const sql = neon(bridge.url);
    // Half bare round trips, half a small parameterised query with a text result to parse.
    const one = async (i: number): Promise<number> => {
      const t = performance.now();
      if (i % 2 === 0) await sql`select 1 as one`;
      else await sql`select ${i}::int + 1 as n, ${`row-${i}`}::text as label, now() as at`;
      return performance.now() - t;
    };
    for (let i = 0; i < WARMUP_QUERIES; i++) await one(i);

    const sequentialLatencies: number[] = [];
    let t = performance.now();
    for (let i = 0; i < queries; i++) sequentialLatencies.push(await one(i));
    const sequential = phase(sequentialLatencies, performance.now() - t);

    const concurrentLatencies: number[] = [];
    let next = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < queries) concurrentLatencies.push(await one(next++));
      }),
    );
    const concurrent = phase(concurrentLatencies, performance.now() - t);

    return {
      backend: bridge.backend,
      p50Ms: sequential.p50Ms,
      p99Ms: sequential.p99Ms,
      qps: concurrent.qps,
      concurrency,
      sequential,
      concurrent,
      startMs,
      target,
    };
  } finally {
    await dispose();
  }
}
