// `npm run bench:db`: what one database statement costs a route, one request at a time (latency, not throughput).
// In one run, interleaved: GET / (the middleware chain, no token, no database: the Worker's floor for these routes),
// GET /v1/auth/me (a token check, answered from the isolate's verified-token cache, plus one statement through the
// bridge: the live session and its user), GET /api/auth/verify (the same statement, the legacy shape), and that
// statement sent from Node straight to the bridge with the real `neon()` driver (the bridge's own latency). The aim
// (issue #16): /v1/auth/me ≤ GET / + 1.5 × the bridge's own latency. PGlite, and Postgres when DATABASE_URL (or the default) answers.
// Knobs: BENCH_DB_REQUESTS (per scenario, 2000), BENCH_DB_BACKENDS ("pglite,postgres"), BENCH_BASELINE_DIST (a
// bundle built from another commit: its two routes run too, as "before: …").
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { neon } from "@neondatabase/serverless";
import type { BackendKind } from "../dev/db-bridge/backend";
import { configureNeonForBridge, startThrowawayBridge } from "../dev/db-bridge/throwaway";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import { beginBench, envInt, failBench, log, UNLIMITED_VARS } from "./lib/common";
import { startTessera, type Target } from "./lib/harness";

const NAME = "bench:db";
const REQUESTS = envInt("BENCH_DB_REQUESTS", 2000, 50, 100_000);
const BACKENDS = (process.env.BENCH_DB_BACKENDS ?? "pglite,postgres").split(",") as BackendKind[];
const PG_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

interface Probe {
  name: string;
  /** One call; resolves when its answer is read whole. */
  once(): Promise<void>;
}

/** Interleaved: round-robin over the probes, one call at a time, REQUESTS each after a warm-up. */
async function interleave(probes: Probe[]): Promise<Map<string, number[]>> {
  for (let i = 0; i < 100; i++) for (const p of probes) await p.once();
  const times = new Map(probes.map((p) => [p.name, [] as number[]]));
  for (let i = 0; i < REQUESTS; i++) {
    for (const p of probes) {
      const t = performance.now();
      await p.once();
      times.get(p.name)?.push(performance.now() - t);
    }
  }
  return times;
}

/** A GET over Node's keep-alive fetch (the same client for every probe, so its cost cancels out). */
function getProbe(name: string, target: Target, path: string, headers: Record<string, string>): Probe {
  const url = new URL(path, target.url);
  return {
    name,
    async once() {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${name} answered ${res.status}`);
    },
  };
}

/** The token's session and user ids, so the bridge-alone probe finds the same row the route finds. */
function claims(auth: Record<string, string>): { sid: string; sub: string } {
  const payload = (auth.authorization ?? "").split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sid: string; sub: string };
}

async function register(target: Target): Promise<Record<string, string>> {
  const res = await fetch(new URL("/v1/auth/register", target.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "benchdb", email: "benchdb@example.com", password: "bench password 1" }),
  });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  const { accessToken } = (await res.json()) as { accessToken: string };
  return { authorization: `Bearer ${accessToken}` };
}

async function runBackend(kind: BackendKind, tmp: string): Promise<void> {
  const tb = await startThrowawayBridge(kind, kind === "postgres" ? { serverUrl: PG_URL } : {});
  const targets: Target[] = [];
  try {
    const vars = { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED_VARS, LOG_LEVEL: "info" };
    const common = { databaseUrl: tb.bridge.url, vars };
    const tessera = await startTessera("tessera", {
      ...common,
      outDir: join(tmp, "dist"),
      build: true,
      persistDir: join(tmp, `${kind}-a`),
    });
    targets.push(tessera);
    const baseline = process.env.BENCH_BASELINE_DIST;
    const before = baseline
      ? await startTessera("before", { ...common, outDir: baseline, build: false, persistDir: join(tmp, `${kind}-b`) })
      : undefined;
    if (before) targets.push(before);
    const auth = await register(tessera);
    // The statement /v1/auth/me runs (src/lib/identity/sessions.ts), sent straight to the bridge.
    configureNeonForBridge();
    const sql = neon(tb.bridge.url);
    const { sid, sub } = claims(auth);
    const probes: Probe[] = [
      getProbe("GET /", tessera, "/", {}),
      getProbe("GET /v1/auth/me (1 statement)", tessera, "/v1/auth/me", auth),
      getProbe("GET /api/auth/verify (1 statement)", tessera, "/api/auth/verify", auth),
      {
        name: "bridge alone (the same statement from Node)",
        async once() {
          const rows = await sql.query(
            `select u.id, u.username, u.email, u.roles, u.active, u.metadata, u.created_at, u.updated_at
             from sessions s join users u on u.id = s.user_id
             where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > now() and u.active = true`,
            [sid, sub],
          );
          if (rows.length !== 1) throw new Error("the session row was not found");
        },
      },
      ...(before
        ? [
            getProbe("before: GET /", before, "/", {}),
            getProbe("before: GET /v1/auth/me (1 statement)", before, "/v1/auth/me", auth),
          ]
        : []),
    ];
    const times = await interleave(probes);
    log();
    log(`${kind} (${tb.target.includes("/") ? "scratch" : tb.target}), ${REQUESTS} calls each, one at a time:`);
    log("| call | p50 ms | p90 ms | p99 ms |");
    log("| --- | ---: | ---: | ---: |");
    const p50 = new Map<string, number>();
    for (const [name, list] of times) {
      const sorted = list.sort((a, b) => a - b);
      p50.set(name, percentile(sorted, 0.5));
      log(
        `| ${name} | ${percentile(sorted, 0.5).toFixed(3)} | ${percentile(sorted, 0.9).toFixed(3)} | ${percentile(sorted, 0.99).toFixed(3)} |`,
      );
    }
    const floor = p50.get("GET /") ?? Number.NaN;
    const me = p50.get("GET /v1/auth/me (1 statement)") ?? Number.NaN;
    const bridge = p50.get("bridge alone (the same statement from Node)") ?? Number.NaN;
    log(
      `one statement adds ${(me - floor).toFixed(3)} ms over GET / = ${((me - floor) / bridge).toFixed(2)}× the bridge's own ` +
        `${bridge.toFixed(3)} ms (aim ≤ 1.5×)`,
    );
  } finally {
    for (const t of targets) await t.close().catch(() => {});
    await tb.dispose();
  }
}

async function main(): Promise<void> {
  const end = beginBench(NAME, 900_000);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-db-"));
  try {
    for (const kind of BACKENDS) await runBackend(kind, tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    end();
  }
}

main().catch(failBench(NAME));
