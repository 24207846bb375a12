// What every bench script shares: its knobs, a watchdog, a readiness check, and the printed results.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { startBridge } from "../../dev/db-bridge/server";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";
import { benchJson, formatTable, type ScenarioResult, startTessera, type Target } from "./harness";

/** An integer knob from the environment, checked against its range. */
export const envInt = (name: string, fallback: number, min: number, max: number) => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}`);
  return n;
};

/** BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS. */
export const settings = {
  rounds: envInt("BENCH_ROUNDS", 3, 1, 9),
  durationMs: envInt("BENCH_DURATION_MS", 5000, 500, 30_000),
  warmupMs: envInt("BENCH_WARMUP_MS", 1000, 0, 10_000),
  connections: envInt("BENCH_CONNECTIONS", 64, 1, 512),
};

export const log = (line = "") => process.stdout.write(`${line}\n`);

/** Ends the process if the bench overruns `limitMs` (a hung server must not hold a job); returns the disarm. */
export function watchdog(name: string, limitMs: number): () => void {
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${limitMs / 1000} s, giving up\n`);
    process.exit(2);
  }, limitMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Prints the machine and the closed-loop load settings, and arms the watchdog. */
export function beginBench(name: string, limitMs: number): () => void {
  const disarm = watchdog(name, limitMs);
  log(
    `${name} on ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  log(
    `closed loop: ${settings.connections} connections, ${settings.warmupMs} ms warm-up + ${settings.durationMs} ms measured, ` +
      `${settings.rounds} interleaved rounds, medians`,
  );
  return disarm;
}

export async function expectStatus(target: Target, path: string, status: number, init?: RequestInit): Promise<void> {
  const res = await fetch(new URL(path, target.url), init);
  const body = await res.text();
  if (res.status !== status) {
    throw new Error(`${target.name} ${path} answered ${res.status} (expected ${status}) before the bench: ${body}`);
  }
}

export function printResults(name: string, results: ScenarioResult[], extra: Record<string, unknown> = {}): void {
  log();
  log(formatTable(results));
  log();
  log("server µs/req: workerd CPU (user+system, /proc) per measured request; client µs/req: this Node process.");
  log("vs floor: req/s as a fraction of the baseline's, and server CPU per request as a multiple of it.");
  log(benchJson(name, results, extra));
}

export function failBench(name: string): (err: unknown) => never {
  return (err) => {
    process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  };
}

/** Limits stay in force but high: a bench measures the work, not the 429s (AUTH_RATE_LIMIT_SCALE is for load tests). */
export const UNLIMITED_VARS = {
  RATE_LIMIT_USER_PER_MINUTE: "1000000",
  RATE_LIMIT_IP_PER_MINUTE: "1000000",
  AUTH_RATE_LIMIT_SCALE: "100000000",
  LOG_LEVEL: "warn",
};

/**
 * Tessera on the production runtime with a throwaway PGlite behind its bridge, fresh signing keys and the
 * limits raised; `close()` stops both and removes every file.
 */
export async function startBenchTessera(
  prefix: string,
  vars: Record<string, string> = {},
  opts: { baselineDist?: string } = {},
): Promise<{ tessera: Target; before?: Target; close(): Promise<void> }> {
  const tmp = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
  const cleanup = async () => {
    await bridge.close();
    await rm(tmp, { recursive: true, force: true });
  };
  const started: Target[] = [];
  try {
    const common = {
      databaseUrl: bridge.url,
      vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED_VARS, ...vars },
    };
    const tessera = await startTessera("tessera", {
      ...common,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
    });
    started.push(tessera);
    // A bundle built from another commit, on the same database and keys: "before" figures in the same run.
    const before = opts.baselineDist
      ? await startTessera("before", {
          ...common,
          outDir: opts.baselineDist,
          build: false,
          persistDir: join(tmp, "state-before"),
        })
      : undefined;
    if (before) started.push(before);
    return {
      tessera,
      before,
      async close() {
        for (const t of started) await t.close();
        await cleanup();
      },
    };
  } catch (err) {
    for (const t of started) await t.close().catch(() => {});
    await cleanup();
    throw err;
  }
}

/** Every bench user's password. */
export const BENCH_PASSWORD = "bench password 1";

/** Signs a new bench user up (a fresh name unless one is given); answers its access token and id. */
export async function registerBenchUser(
  target: Target,
  name = `bench${crypto.randomUUID().slice(0, 8)}`,
): Promise<{ accessToken: string; user: { id: string } }> {
  const res = await fetch(new URL("/v1/auth/register", target.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: name, email: `${name}@example.com`, password: BENCH_PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { accessToken: string; user: { id: string } };
}
